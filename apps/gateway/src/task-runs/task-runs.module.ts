import { OrchestrationModule } from '@app/orchestration';
import { Module } from '@nestjs/common';
import { TaskRunRecorder } from './task-run-recorder.service';
import { TaskRunController } from './task-run.controller';
import { TaskRunService } from './task-run.service';

@Module({
  imports: [OrchestrationModule],
  controllers: [TaskRunController],
  providers: [TaskRunService, TaskRunRecorder],
  exports: [TaskRunRecorder],
})
export class TaskRunsModule {}
