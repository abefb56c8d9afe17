import { OrchestrationModule } from '@app/orchestration';
import { Module } from '@nestjs/common';
import { TaskRunController } from './task-run.controller';
import { TaskRunService } from './task-run.service';

@Module({ imports: [OrchestrationModule], controllers: [TaskRunController], providers: [TaskRunService] })
export class TaskRunsModule {}
