import { OrchestrationModule } from '@app/orchestration';
import { Module } from '@nestjs/common';
import { DeploymentsModule } from '@gateway/deployments/deployments.module';
import { DeploymentFlowRunController } from './deployment-flow-run.controller';
import { FlowRunClaimHandler } from './flow-run-claim.handler';
import { FlowRunClaimService } from './flow-run-claim.service';
import { FlowRunStateService } from './flow-run-state.service';
import { FlowRunController } from './flow-run.controller';
import { FlowRunService } from './flow-run.service';

@Module({
  imports: [OrchestrationModule, DeploymentsModule],
  controllers: [FlowRunController, DeploymentFlowRunController, FlowRunClaimHandler],
  providers: [FlowRunService, FlowRunStateService, FlowRunClaimService],
})
export class FlowRunsModule {}
