import { Module } from '@nestjs/common';
import { TaskRunsModule } from '@gateway/task-runs/task-runs.module';
import { EventStream } from './event-stream.service';
import { EventsInService } from './events-in.service';

@Module({
  imports: [TaskRunsModule],
  providers: [EventsInService, EventStream],
  exports: [EventsInService, EventStream],
})
export class EventsModule {}
