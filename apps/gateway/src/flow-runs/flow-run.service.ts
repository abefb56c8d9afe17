import { AppConfig } from '@app/config';
import {
  DeploymentFlowRunCreateDto,
  FlowRunBulkCreateResponse,
  FlowRunCreateResult,
  FlowRunCountRequestDto,
  FlowRunCreateDto,
  FlowRunFilterRequestDto,
  FlowRunResponse,
  FlowRunUpdateDto,
  OffsetDateTime,
  StateCreateDto,
} from '@app/contracts';
import {
  badRequest,
  flowRunLabels,
  flowRunPolicy,
  generateRunName,
  integrityConflict,
  notFound,
  objectNotFound,
  presentFlowRunResponse,
  resolveLimit,
} from '@app/domain';
import {
  Database,
  DeploymentEntity,
  FlowRunEntity,
  Transaction,
  WorkPoolEntity,
  WorkQueueEntity,
} from '@app/persistence';
import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DeploymentParameters } from '@gateway/deployments/parameter-schema';
import { queueInPool, requireWorkPool, workQueueNotFound } from '@gateway/work-pools/work-pool.helpers';
import { FlowRunStateService } from './flow-run-state.service';
import type { NewFlowRun } from '@app/orchestration';
import type { OrchestrationClient } from './orchestration-client.decorator';

/** A run of a bulk request, ready to insert. */
type NewFlowRunRow = NewFlowRun & {
  values: NewFlowRunValues & Pick<FlowRunEntity, 'id' | 'created_by'>;
  proposal: StateCreateDto;
};

type NewFlowRunValues = Pick<
  FlowRunEntity,
  | 'name'
  | 'flow_id'
  | 'flow_version'
  | 'deployment_id'
  | 'deployment_version'
  | 'parameters'
  | 'context'
  | 'empirical_policy'
  | 'tags'
  | 'labels'
  | 'idempotency_key'
  | 'parent_task_run_id'
  | 'infrastructure_document_id'
  | 'work_queue_id'
  | 'work_queue_name'
  | 'job_variables'
>;

const flowRunNotFound = () => notFound('Flow run not found');

/** The columns of a run a deployment creates (`create_flow_run`, one or in bulk), as Prefect fills them in. */
function runOfDeployment(
  deployment: DeploymentEntity,
  body: DeploymentFlowRunCreateDto,
  parameters: Record<string, unknown>,
  queue: { id: string | null; name: string | null },
): NewFlowRunValues {
  return {
    name: body.name || generateRunName(),
    flow_id: deployment.flow_id,
    flow_version: null,
    deployment_id: deployment.id,
    deployment_version: deployment.version,
    parameters,
    context: body.context,
    empirical_policy: flowRunPolicy(body.empirical_policy),
    tags: [...new Set([...deployment.tags, ...body.tags])],
    labels: flowRunLabels({ flowId: deployment.flow_id, deployment, requested: body.labels }),
    idempotency_key: body.idempotency_key ?? null,
    parent_task_run_id: body.parent_task_run_id ?? null,
    infrastructure_document_id: body.infrastructure_document_id ?? deployment.infrastructure_document_id,
    work_queue_id: queue.id,
    work_queue_name: queue.name,
    job_variables: body.job_variables ?? {},
  };
}

/** Prefect's `BULK_CREATE_LIMIT`: runs one bulk request may create. */
const BULK_CREATE_LIMIT = 100;

const failed = (error: string): FlowRunCreateResult => ({ flow_run_id: null, status: 'FAILED', error });

/** Flow runs: creation (ad hoc or from a deployment), reads, updates, deletion. */
@Injectable()
export class FlowRunService {
  constructor(
    private readonly db: Database,
    private readonly config: AppConfig,
    private readonly states: FlowRunStateService,
    private readonly deploymentParameters: DeploymentParameters,
  ) {}

  /**
   * `POST /flow_runs/`. A run whose `(flow_id, idempotency_key)` exists already is returned unchanged
   * (`created: false`); a new one enters its proposed state (PENDING by default) as a forced transition.
   */
  async create(
    body: FlowRunCreateDto,
    client: OrchestrationClient,
  ): Promise<{ run: FlowRunResponse; created: boolean }> {
    return this.db.transaction(async (tx) => {
      const workQueue = body.work_pool_name
        ? await this.queueByNames(tx, body.work_pool_name, body.work_queue_name)
        : null;
      const workQueueId = workQueue?.id ?? null;
      const flow = await tx.flows.findById(body.flow_id);
      if (!flow) throw integrityConflict();
      const deployment = body.deployment_id ? await tx.deployments.findById(body.deployment_id) : null;
      const run: NewFlowRunValues = {
        name: body.name || generateRunName(),
        flow_id: body.flow_id,
        flow_version: body.flow_version ?? null,
        deployment_id: body.deployment_id ?? null,
        deployment_version: null,
        parameters: body.parameters,
        context: body.context,
        empirical_policy: flowRunPolicy(body.empirical_policy),
        tags: body.tags,
        labels: flowRunLabels({ flowId: body.flow_id, deployment, flowLabels: flow.labels, requested: body.labels }),
        idempotency_key: body.idempotency_key ?? null,
        parent_task_run_id: body.parent_task_run_id ?? null,
        infrastructure_document_id: body.infrastructure_document_id ?? null,
        work_queue_id: workQueueId,
        work_queue_name: workQueue?.name ?? body.work_queue_name ?? null,
        job_variables: body.job_variables ?? {},
      };
      return this.insert(tx, run, body.state ?? { type: 'PENDING' }, {
        apiVersion: client.apiVersion,
        clientVersion: null,
      });
    });
  }

  /**
   * `POST /deployments/{id}/create_flow_run`: the deployment's parameters under the run's, the union of both
   * tag lists, the deployment's queue (or the named queue of its pool, created if missing), SCHEDULED now
   * unless another state is given.
   */
  async createFromDeployment(
    deploymentId: string,
    body: DeploymentFlowRunCreateDto,
  ): Promise<{ run: FlowRunResponse; created: boolean }> {
    return this.db.transaction(async (tx) => {
      const deployment = await tx.deployments.findDetailed(deploymentId);
      if (!deployment) throw notFound('Deployment not found');
      const parameters = this.deploymentParameters.forNewRun(deployment, body);
      let workQueueId = deployment.work_queue_id;
      let workQueueName = deployment.work_queue?.name ?? deployment.work_queue_name;
      if (body.work_queue_name) {
        const pool = deployment.work_queue?.work_pool;
        if (!pool) {
          throw badRequest(
            `Cannot create flow run in work queue ${body.work_queue_name} because deployment ${deploymentId} is not associated with a work pool. Please remove work_pool_name and try again.`,
          );
        }
        workQueueId = (await queueInPool(tx, pool, body.work_queue_name)).id;
        workQueueName = body.work_queue_name;
      }
      const run = runOfDeployment(deployment, body, parameters, { id: workQueueId, name: workQueueName });
      // Prefect passes no request versions when a deployment creates the run.
      return this.insert(tx, run, body.state ?? { type: 'SCHEDULED' }, { apiVersion: null, clientVersion: null });
    });
  }

  /**
   * `POST /deployments/{id}/create_flow_run/bulk`: each run as `createFromDeployment` would make it, all in one
   * transaction and set-based (one insert of the runs, one of their states). A run that cannot be made is reported
   * FAILED in its place, as Prefect does, and the others are still created; one whose idempotency key exists is
   * reported CREATED with the existing run's id.
   */
  async createManyFromDeployment(
    deploymentId: string,
    bodies: DeploymentFlowRunCreateDto[],
  ): Promise<FlowRunBulkCreateResponse> {
    if (bodies.length > BULK_CREATE_LIMIT) {
      throw badRequest(`Cannot create more than ${BULK_CREATE_LIMIT} flow runs at once.`);
    }
    return this.db.transaction(async (tx) => {
      const deployment = await tx.deployments.findWithPlacement(deploymentId);
      if (!deployment) throw notFound('Deployment not found');
      const pool = deployment.work_queue?.work_pool ?? null;
      const defaultQueueName = deployment.work_queue?.name ?? deployment.work_queue_name;
      const queueIds = new Map<string, string>();
      // The runs' events name their queue and pool: each one is taken from here rather than read again.
      const places = new Map<string, { workQueue: WorkQueueEntity; workPool: WorkPoolEntity | null }>();
      if (deployment.work_queue) {
        places.set(deployment.work_queue.id, { workQueue: deployment.work_queue, workPool: pool });
      }
      for (const name of new Set(bodies.map((body) => body.work_queue_name))) {
        if (name && name !== deployment.work_queue_name && pool) {
          const queue = await queueInPool(tx, pool, name);
          queueIds.set(name, queue.id);
          places.set(queue.id, { workQueue: queue, workPool: pool });
        }
      }
      const results: (FlowRunCreateResult | NewFlowRunRow)[] = bodies.map((body) => {
        const checked = this.deploymentParameters.forBulkRun(deployment, body);
        if ('failure' in checked) return failed(checked.failure);
        if (body.work_queue_name && !pool) {
          return failed(
            `Cannot create flow run in work queue ${body.work_queue_name} because deployment is not associated with a work pool.`,
          );
        }
        const queueName = body.work_queue_name || defaultQueueName;
        const queue = {
          id: body.work_queue_name
            ? (queueIds.get(body.work_queue_name) ?? deployment.work_queue_id)
            : deployment.work_queue_id,
          name: queueName,
        };
        const values = {
          ...runOfDeployment(deployment, body, checked.parameters, queue),
          id: randomUUID(),
          created_by: null,
        };
        return { values, proposal: body.state ?? { type: 'SCHEDULED' } };
      });
      const toCreate = results.filter((result): result is NewFlowRunRow => 'values' in result);
      // Prefect passes no request versions when a deployment creates the run.
      const place = { flow: deployment.flow ?? null, deployment, queues: places };
      const inserted = await this.states.createMany(tx, toCreate, place, { apiVersion: null, clientVersion: null });
      const existing = await tx.flowRuns.idsByIdempotencyKeys(
        deployment.flow_id,
        toCreate.flatMap(({ values }) =>
          values.idempotency_key && !inserted.has(values.id) ? [values.idempotency_key] : [],
        ),
      );
      return {
        results: results.map((result): FlowRunCreateResult => {
          if (!('values' in result)) return result;
          const { id, idempotency_key: key } = result.values;
          const runId = inserted.has(id) ? id : key ? existing.get(key) : undefined;
          return runId ? { flow_run_id: runId, status: 'CREATED', error: null } : failed('Flow run not found');
        }),
      };
    });
  }

  async read(id: string): Promise<FlowRunResponse> {
    const run = await this.db.repos.flowRuns.findDetailedById(id);
    if (!run) throw flowRunNotFound();
    return presentFlowRunResponse(run);
  }

  async filter(body: FlowRunFilterRequestDto): Promise<FlowRunResponse[]> {
    const runs = await this.db.repos.queries.flowRuns(body, resolveLimit(body.limit, this.config.api.defaultLimit));
    const detailed = await this.db.repos.flowRuns.findDetailedByIds(runs.map((run) => run.id));
    const now = new Date();
    return detailed.map((run) => presentFlowRunResponse(run, now));
  }

  count(body: FlowRunCountRequestDto): Promise<number> {
    return this.db.repos.queries.countFlowRuns(body);
  }

  /**
   * `PATCH /flow_runs/{id}`: writes only the keys sent. Job variables may only change while the run is
   * SCHEDULED and its deployment exists.
   */
  async update(id: string, body: FlowRunUpdateDto): Promise<void> {
    await this.db.transaction(async (tx) => {
      if (body.job_variables !== undefined && body.job_variables !== null) {
        await this.checkJobVariablesUpdatable(tx, id);
      }
      const changes = {
        ...(body.name !== undefined && { name: body.name || generateRunName() }),
        ...(body.flow_version !== undefined && { flow_version: body.flow_version }),
        ...(body.parameters !== undefined && { parameters: body.parameters }),
        ...(body.empirical_policy !== undefined && { empirical_policy: flowRunPolicy(body.empirical_policy) }),
        ...(body.tags !== undefined && { tags: body.tags }),
        ...(body.infrastructure_pid !== undefined && { infrastructure_pid: body.infrastructure_pid }),
        ...(body.job_variables !== undefined && { job_variables: body.job_variables }),
      };
      const updated = await tx.flowRuns.patch(id, Object.keys(changes).length > 0 ? changes : { updated: new Date() });
      if (!updated) throw flowRunNotFound();
    });
  }

  /** `PATCH /flow_runs/{id}/labels`: the given labels are merged over the run's. */
  async updateLabels(id: string, labels: Record<string, unknown>): Promise<void> {
    if (!(await this.db.repos.flowRuns.mergeLabels(id, labels))) {
      throw objectNotFound(`Flow run with id ${id} not found`);
    }
  }

  /**
   * Deletes the run (its states and task runs go with it) and its logs, which Prefect deletes in a task queued
   * after the commit; here they go in the same transaction.
   */
  async delete(id: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      if (!(await tx.flowRuns.deleteById(id))) throw flowRunNotFound();
      await tx.logs.deleteForFlowRun(id);
    });
  }

  private async checkJobVariablesUpdatable(tx: Transaction, id: string): Promise<void> {
    const run = await tx.flowRuns.findDetailedById(id);
    if (!run) throw flowRunNotFound();
    if (!run.state) throw badRequest('Flow run state is required to update job variables but none exists');
    if (run.state.type !== 'SCHEDULED') {
      throw badRequest(`Job variables for a flow run in state ${run.state.type} cannot be updated`);
    }
    const deployment = run.deployment_id ? await tx.deployments.findById(run.deployment_id) : null;
    if (!deployment) throw badRequest('A deployment for the flow run could not be found');
  }

  /** Inserts a run and, unless its idempotency key found an existing one, gives it its first state. */
  private async insert(
    tx: Transaction,
    values: NewFlowRunValues,
    state: StateCreateDto,
    client: OrchestrationClient,
  ): Promise<{ run: FlowRunResponse; created: boolean }> {
    const { idempotency_key: key } = values;
    const inserted = key ? await tx.flowRuns.insertIfAbsent(values) : await tx.flowRuns.insert(values);
    if (inserted) await this.states.transition(tx, inserted, state, { force: true, client });
    const id = inserted?.id ?? (key && (await tx.flowRuns.findByIdempotencyKey(values.flow_id, key))?.id);
    const run = id ? await tx.flowRuns.findDetailedById(id) : null;
    if (!run) throw flowRunNotFound();
    if (inserted) echoScheduledTime(run, state.state_details?.scheduled_time);
    return { run: presentFlowRunResponse(run), created: inserted !== null };
  }

  /** Prefect's lookup for `work_pool_name` (+ `work_queue_name`): the named queue, else the pool's default. */
  private async queueByNames(
    tx: Transaction,
    poolName: string,
    queueName: string | null | undefined,
  ): Promise<WorkQueueEntity | null> {
    if (queueName) {
      const queue = await tx.workQueues.findByNames(poolName, queueName);
      if (!queue) throw workQueueNotFound(poolName, queueName);
      return queue;
    }
    const pool = await requireWorkPool(tx.workPools, poolName);
    return pool.default_queue_id ? tx.workQueues.findById(pool.default_queue_id) : null;
  }
}

/**
 * Prefect answers a new run from the object it built, whose start times are the proposed scheduled time as sent,
 * offset included; every later read comes from `timestamptz` columns, in UTC.
 */
function echoScheduledTime(run: FlowRunEntity, sent: Date | null | undefined): void {
  if (!(sent instanceof OffsetDateTime)) return;
  if (run.expected_start_time?.getTime() === sent.getTime()) run.expected_start_time = sent;
  if (run.next_scheduled_start_time?.getTime() === sent.getTime()) run.next_scheduled_start_time = sent;
}
