import { Module } from '@nestjs/common';
import { WorkPoolController } from './work-pool.controller';
import { WorkPoolService } from './work-pool.service';
import { WorkQueueController } from './work-queue.controller';
import { WorkQueueService } from './work-queue.service';
import { WorkerController } from './worker.controller';
import { WorkerService } from './worker.service';

@Module({
  controllers: [WorkPoolController, WorkQueueController, WorkerController],
  providers: [WorkPoolService, WorkQueueService, WorkerService],
})
export class WorkPoolsModule {}
