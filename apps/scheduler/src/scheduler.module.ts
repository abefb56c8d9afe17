import { ConfigModule } from '@app/config';
import { MessagingModule } from '@app/messaging';
import { PersistenceModule } from '@app/persistence';
import { Module } from '@nestjs/common';

/** Background services: dispatch of due runs (next issue), and later the foreman, late runs and schedules. */
@Module({
  imports: [ConfigModule, PersistenceModule, MessagingModule.forRoot('scheduler')],
})
export class SchedulerModule {}
