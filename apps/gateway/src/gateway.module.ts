import { ConfigModule } from '@app/config';
import { MessagingModule } from '@app/messaging';
import { PersistenceModule } from '@app/persistence';
import { Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { ConcurrencyLeasesModule } from './concurrency-leases/concurrency-leases.module';
import { DeploymentsModule } from './deployments/deployments.module';
import { EventsModule } from './events/events.module';
import { FlowRunsModule } from './flow-runs/flow-runs.module';
import { FlowsModule } from './flows/flows.module';
import { ApiVersionGuard } from './http/api-version.guard';
import { PrefectExceptionFilter } from './http/prefect-exception.filter';
import { RequestValidationPipe } from './http/request-validation.pipe';
import { LogsModule } from './logs/logs.module';
import { MetricsModule } from './metrics/metrics.module';
import { ScheduledRunsModule } from './scheduled-runs/scheduled-runs.module';
import { AutomationController } from './server/automation.controller';
import { ReadinessController } from './server/readiness.controller';
import { ServerController } from './server/server.controller';
import { TaskRunsModule } from './task-runs/task-runs.module';
import { WorkPoolsModule } from './work-pools/work-pools.module';

@Module({
  imports: [
    ConfigModule,
    PersistenceModule,
    MessagingModule.forRoot('gateway'),
    MetricsModule,
    WorkPoolsModule,
    ScheduledRunsModule,
    FlowsModule,
    DeploymentsModule,
    FlowRunsModule,
    ConcurrencyLeasesModule,
    LogsModule,
    TaskRunsModule,
    EventsModule,
  ],
  controllers: [ServerController, AutomationController, ReadinessController],
  providers: [
    { provide: APP_PIPE, useClass: RequestValidationPipe },
    { provide: APP_FILTER, useClass: PrefectExceptionFilter },
    { provide: APP_GUARD, useClass: ApiVersionGuard },
  ],
})
export class GatewayModule {}
