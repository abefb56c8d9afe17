import { EntityManager } from 'typeorm';
import { DeploymentScheduleRepository } from './deployment-schedule.repository';
import { DeliveryRepository } from './delivery.repository';
import { DeploymentRepository } from './deployment.repository';
import { FlowRunStateRepository } from './flow-run-state.repository';
import { FlowRunRepository } from './flow-run.repository';
import { FlowRepository } from './flow.repository';
import { ResourceQueryRepository } from './resource-query.repository';
import { WorkPoolRepository } from './work-pool.repository';
import { WorkQueueRepository } from './work-queue.repository';
import { WorkerRepository } from './worker.repository';

export * from './deployment-schedule.repository';
export * from './deployment.repository';
export * from './delivery.repository';
export * from './entity-repository';
export * from './flow-run-state.repository';
export * from './flow-run.repository';
export * from './flow.repository';
export * from './resource-query.repository';
export * from './work-pool.repository';
export * from './work-queue.repository';
export * from './worker.repository';

/** Every repository, bound to one `EntityManager` (the default one, or a transaction's). */
export class Repositories {
  readonly workPools: WorkPoolRepository;
  readonly workQueues: WorkQueueRepository;
  readonly workers: WorkerRepository;
  readonly flows: FlowRepository;
  readonly deployments: DeploymentRepository;
  readonly deploymentSchedules: DeploymentScheduleRepository;
  readonly flowRuns: FlowRunRepository;
  readonly flowRunStates: FlowRunStateRepository;
  /** Prefect's cross-resource filter/count queries. */
  readonly queries: ResourceQueryRepository;
  /** The delivery pipeline: what to publish, what was published, what is leased. */
  readonly delivery: DeliveryRepository;

  constructor(manager: EntityManager) {
    this.workPools = new WorkPoolRepository(manager);
    this.workQueues = new WorkQueueRepository(manager);
    this.workers = new WorkerRepository(manager);
    this.flows = new FlowRepository(manager);
    this.deployments = new DeploymentRepository(manager);
    this.deploymentSchedules = new DeploymentScheduleRepository(manager);
    this.flowRuns = new FlowRunRepository(manager);
    this.flowRunStates = new FlowRunStateRepository(manager);
    this.queries = new ResourceQueryRepository(manager);
    this.delivery = new DeliveryRepository(manager);
  }
}
