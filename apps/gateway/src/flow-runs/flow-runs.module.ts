import { Module } from '@nestjs/common';
import { DeploymentFlowRunController } from './deployment-flow-run.controller';
import { FlowRunStateService } from './flow-run-state.service';
import { FlowRunController } from './flow-run.controller';
import { FlowRunService } from './flow-run.service';

@Module({
  controllers: [FlowRunController, DeploymentFlowRunController],
  providers: [FlowRunService, FlowRunStateService],
})
export class FlowRunsModule {}
