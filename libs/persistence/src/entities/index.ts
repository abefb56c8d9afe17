export * from './columns';
export * from './deployment-concurrency-lease.entity';
export * from './deployment-schedule.entity';
export * from './deployment.entity';
export * from './flow-run-state.entity';
export * from './flow-run.entity';
export * from './flow.entity';
export * from './work-pool.entity';
export * from './work-queue.entity';
export * from './worker.entity';

import { DeploymentConcurrencyLeaseEntity } from './deployment-concurrency-lease.entity';
import { DeploymentScheduleEntity } from './deployment-schedule.entity';
import { DeploymentEntity } from './deployment.entity';
import { FlowRunStateEntity } from './flow-run-state.entity';
import { FlowRunEntity } from './flow-run.entity';
import { FlowEntity } from './flow.entity';
import { WorkPoolEntity } from './work-pool.entity';
import { WorkQueueEntity } from './work-queue.entity';
import { WorkerEntity } from './worker.entity';

export const ENTITIES = [
  WorkPoolEntity, WorkQueueEntity, WorkerEntity, FlowEntity, DeploymentEntity,
  DeploymentScheduleEntity, FlowRunEntity, FlowRunStateEntity, DeploymentConcurrencyLeaseEntity,
];
