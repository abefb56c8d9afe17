import { AppConfig } from '@app/config';
import {
  DeploymentFlowRunCreateDto,
  FlowRunCountRequestDto,
  FlowRunCreateDto,
  FlowRunFilterRequestDto,
  FlowRunResponse,
  FlowRunUpdateDto,
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
import { Database, WorkQueueEntity, FlowRunEntity, Transaction } from '@app/persistence';
import { Injectable } from '@nestjs/common';
import { DeploymentParameters } from '../deployments/parameter-schema';
import { queueInPool, requireWorkPool, workQueueNotFound } from '../work-pools/work-pool.helpers';
import { FlowRunStateService } from './flow-run-state.service';
import type { OrchestrationClient } from './orchestration-client.decorator';

type NewFlowRun = Pick<
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
      const run: NewFlowRun = {
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
        job_variables: body.job_variables ?? null,
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
      const run: NewFlowRun = {
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
        work_queue_id: workQueueId,
        work_queue_name: workQueueName,
        job_variables: body.job_variables,
      };
      // Prefect passes no request versions when a deployment creates the run.
      return this.insert(tx, run, body.state ?? { type: 'SCHEDULED' }, { apiVersion: null, clientVersion: null });
    });
  }

  async read(id: string): Promise<FlowRunResponse> {
    const run = await this.db.repos.flowRuns.findDetailedById(id);
    if (!run) throw flowRunNotFound();
    return presentFlowRunResponse(run);
  }

  async filter(body: FlowRunFilterRequestDto): Promise<FlowRunResponse[]> {
    const runs = await this.db.repos.queries.flowRuns(body, resolveLimit(body.limit, this.config.DEFAULT_LIMIT));
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

  async delete(id: string): Promise<void> {
    if (!(await this.db.repos.flowRuns.deleteById(id))) throw flowRunNotFound();
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
    values: NewFlowRun,
    state: StateCreateDto,
    client: OrchestrationClient,
  ): Promise<{ run: FlowRunResponse; created: boolean }> {
    const { idempotency_key: key } = values;
    const inserted = key ? await tx.flowRuns.insertIfAbsent(values) : await tx.flowRuns.insert(values);
    if (inserted) await this.states.transition(tx, inserted, state, { force: true, client });
    const id = inserted?.id ?? (key && (await tx.flowRuns.findByIdempotencyKey(values.flow_id, key))?.id);
    const run = id ? await tx.flowRuns.findDetailedById(id) : null;
    if (!run) throw flowRunNotFound();
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
