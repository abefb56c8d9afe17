import { ConfigModule } from '@app/config';
import { MessagingModule } from '@app/messaging';
import { ObservabilityModule } from '@app/observability';
import { OrchestrationModule } from '@app/orchestration';
import { PersistenceModule } from '@app/persistence';
import { Module } from '@nestjs/common';
import { DispatcherService } from './dispatch/dispatcher.service';
import { ReconcilerService } from './dispatch/reconciler.service';
import { ForemanService } from './foreman/foreman.service';
import { LateRunsService } from './late-runs/late-runs.service';
import { MetricsSamplerService } from './metrics/metrics-sampler.service';
import { SchedulerMetrics } from './metrics/scheduler-metrics';
import { DeploymentScheduler } from './schedules/deployment-scheduler';
import { RecentDeploymentsSchedulerService } from './schedules/recent-deployments-scheduler.service';
import { SchedulerService } from './schedules/scheduler.service';

/**
 * Background services: dispatch of due runs and its reconciliation with the bus, the foreman, late runs, the
 * deployment schedules, and the sampling of the backlog gauges.
 */
@Module({
  imports: [
    ConfigModule,
    PersistenceModule,
    MessagingModule.forRoot('scheduler'),
    OrchestrationModule,
    ObservabilityModule,
  ],
  providers: [
    SchedulerMetrics,
    MetricsSamplerService,
    DispatcherService,
    ReconcilerService,
    ForemanService,
    LateRunsService,
    DeploymentScheduler,
    SchedulerService,
    RecentDeploymentsSchedulerService,
  ],
})
export class SchedulerModule {}
