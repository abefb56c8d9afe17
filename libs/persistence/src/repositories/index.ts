import { EntityManager } from 'typeorm';
import { DeploymentScheduleRepository } from './deployment-schedule.repository';
import { DeliveryRepository } from './delivery.repository';
import { DeploymentConcurrencyLeaseRepository } from './deployment-concurrency-lease.repository';
import { DeploymentRepository } from './deployment.repository';
import { FlowRunStateRepository } from './flow-run-state.repository';
import { FlowRunRepository } from './flow-run.repository';
import { FlowRepository } from './flow.repository';
import { ForemanRepository } from './foreman.repository';
import { LateRunRepository } from './late-run.repository';
import { LogRepository } from './log.repository';
import { TaskRunRepository, TaskRunStateRepository } from './task-run.repository';
import { ResourceQueryRepository } from './resource-query.repository';
import { SchedulerRepository } from './scheduler.repository';
import { WorkPoolRepository } from './work-pool.repository';
import { WorkQueueRepository } from './work-queue.repository';
import { WorkerRepository } from './worker.repository';

export * from './deployment-concurrency-lease.repository';
export * from './deployment-schedule.repository';
export * from './deployment.repository';
export * from './delivery.repository';
export * from './entity-repository';
export * from './flow-run-state.repository';
export * from './flow-run.repository';
export * from './flow.repository';
export * from './foreman.repository';
export * from './late-run.repository';
export * from './log.repository';
export * from './task-run.repository';
export * from './resource-query.repository';
export * from './scheduler.repository';
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
  /** Deployment concurrency slots, as leases held by flow runs. */
  readonly deploymentConcurrencyLeases: DeploymentConcurrencyLeaseRepository;
  readonly flowRuns: FlowRunRepository;
  readonly flowRunStates: FlowRunStateRepository;
  /** Prefect's cross-resource filter/count queries. */
  readonly queries: ResourceQueryRepository;
  /** The delivery pipeline: what to publish, what was published, what is leased. */
  readonly delivery: DeliveryRepository;
  /** The foreman's status sweeps. */
  readonly foreman: ForemanRepository;
  /** Runs overdue to be marked Late. */
  readonly lateRuns: LateRunRepository;
  /** Log lines of flow and task runs. */
  readonly logs: LogRepository;
  readonly taskRuns: TaskRunRepository;
  readonly taskRunStates: TaskRunStateRepository;
  /** The scheduler service: deployments whose schedules need runs, and the runs' set-based insert. */
  readonly scheduler: SchedulerRepository;

  constructor(manager: EntityManager) {
    this.workPools = new WorkPoolRepository(manager);
    this.workQueues = new WorkQueueRepository(manager);
    this.workers = new WorkerRepository(manager);
    this.flows = new FlowRepository(manager);
    this.deployments = new DeploymentRepository(manager);
    this.deploymentSchedules = new DeploymentScheduleRepository(manager);
    this.deploymentConcurrencyLeases = new DeploymentConcurrencyLeaseRepository(manager);
    this.flowRuns = new FlowRunRepository(manager);
    this.flowRunStates = new FlowRunStateRepository(manager);
    this.queries = new ResourceQueryRepository(manager);
    this.delivery = new DeliveryRepository(manager);
    this.foreman = new ForemanRepository(manager);
    this.lateRuns = new LateRunRepository(manager);
    this.logs = new LogRepository(manager);
    this.taskRuns = new TaskRunRepository(manager);
    this.taskRunStates = new TaskRunStateRepository(manager);
    this.scheduler = new SchedulerRepository(manager);
  }
}
