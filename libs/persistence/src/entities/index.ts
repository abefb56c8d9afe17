export * from './columns';
export * from './deployment-concurrency-lease.entity';
export * from './deployment-schedule.entity';
export * from './deployment.entity';
export * from './flow-run-state.entity';
export * from './flow-run.entity';
export * from './flow.entity';
export * from './log.entity';
export * from './task-run-state.entity';
export * from './task-run.entity';
export * from './work-pool.entity';
export * from './work-queue.entity';
export * from './worker.entity';

import { DeploymentConcurrencyLeaseEntity } from './deployment-concurrency-lease.entity';
import { DeploymentScheduleEntity } from './deployment-schedule.entity';
import { DeploymentEntity } from './deployment.entity';
import { FlowRunStateEntity } from './flow-run-state.entity';
import { FlowRunEntity } from './flow-run.entity';
import { FlowEntity } from './flow.entity';
import { LogEntity } from './log.entity';
import { TaskRunStateEntity } from './task-run-state.entity';
import { TaskRunEntity } from './task-run.entity';
import { WorkPoolEntity } from './work-pool.entity';
import { WorkQueueEntity } from './work-queue.entity';
import { WorkerEntity } from './worker.entity';

export const ENTITIES = [
  WorkPoolEntity,
  WorkQueueEntity,
  WorkerEntity,
  FlowEntity,
  DeploymentEntity,
  DeploymentScheduleEntity,
  FlowRunEntity,
  FlowRunStateEntity,
  DeploymentConcurrencyLeaseEntity,
  LogEntity,
  TaskRunEntity,
  TaskRunStateEntity,
];
