import { Module } from '@nestjs/common';
import { DeploymentScheduleController } from './deployment-schedule.controller';
import { DeploymentScheduleService } from './deployment-schedule.service';
import { DeploymentController } from './deployment.controller';
import { DeploymentService } from './deployment.service';
import { DeploymentParameters } from './parameter-schema';

@Module({
  controllers: [DeploymentController, DeploymentScheduleController],
  providers: [DeploymentService, DeploymentScheduleService, DeploymentParameters],
  exports: [DeploymentParameters],
})
export class DeploymentsModule {}
