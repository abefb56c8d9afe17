import { Module } from '@nestjs/common';
import { TaskRunsModule } from '../task-runs/task-runs.module';
import { EventsInService } from './events-in.service';

@Module({ imports: [TaskRunsModule], providers: [EventsInService], exports: [EventsInService] })
export class EventsModule {}
