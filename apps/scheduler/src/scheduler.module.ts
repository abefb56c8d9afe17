import { ConfigModule } from '@app/config';
import { MessagingModule } from '@app/messaging';
import { PersistenceModule } from '@app/persistence';
import { Module } from '@nestjs/common';
import { DispatcherService } from './dispatch/dispatcher.service';

/** Background services: dispatch of due runs; later the foreman, late runs and schedules. */
@Module({
  imports: [ConfigModule, PersistenceModule, MessagingModule.forRoot('scheduler')],
  providers: [DispatcherService],
})
export class SchedulerModule {}
