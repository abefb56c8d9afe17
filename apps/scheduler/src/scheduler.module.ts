import { ConfigModule } from '@app/config';
import { MessagingModule } from '@app/messaging';
import { OrchestrationModule } from '@app/orchestration';
import { PersistenceModule } from '@app/persistence';
import { Module } from '@nestjs/common';
import { DispatcherService } from './dispatch/dispatcher.service';
import { ForemanService } from './foreman/foreman.service';
import { LateRunsService } from './late-runs/late-runs.service';

/** Background services: dispatch of due runs, the foreman and late runs; later the schedules. */
@Module({
  imports: [ConfigModule, PersistenceModule, MessagingModule.forRoot('scheduler'), OrchestrationModule],
  providers: [DispatcherService, ForemanService, LateRunsService],
})
export class SchedulerModule {}
