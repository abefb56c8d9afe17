import { Module } from '@nestjs/common';
import { WorkPoolDelivery } from './work-pool-delivery.service';
import { WorkPoolController } from './work-pool.controller';
import { WorkPoolService } from './work-pool.service';
import { WorkQueueByIdController } from './work-queue-by-id.controller';
import { WorkQueueController } from './work-queue.controller';
import { WorkQueueService } from './work-queue.service';
import { WorkerController } from './worker.controller';
import { WorkerService } from './worker.service';

@Module({
  controllers: [WorkPoolController, WorkQueueController, WorkQueueByIdController, WorkerController],
  providers: [WorkPoolService, WorkQueueService, WorkerService, WorkPoolDelivery],
})
export class WorkPoolsModule {}
