import { AppConfig } from '@app/config';
import {
  DeploymentCountRequestDto,
  DeploymentCreateDto,
  DeploymentFilterRequestDto,
  DeploymentResponse,
  DeploymentScheduleUpdateDto,
  DeploymentUpdateDto,
} from '@app/contracts';
import {
  ConcurrencyLimitIdentity,
  conflict,
  integrityConflict,
  nextConcurrencyLimitIdentity,
  notFound,
  presentDeployment,
  resolveLimit,
} from '@app/domain';
import { Database, DeploymentEntity, Transaction, WorkPoolEntity } from '@app/persistence';
import { Injectable } from '@nestjs/common';
import { ensureLegacyWorkQueue, queueInPool, requireWorkPool } from '@gateway/work-pools/work-pool.helpers';
import { DeploymentParameters } from './parameter-schema';
import { planScheduleUpdate } from './schedule-update-plan';
import { newScheduleValues, NewSchedule, scheduleChanges } from './schedules';

/** Deployment columns a create or update body sets one-to-one when it sends them. */
const CREATE_COLUMNS = [
  'name',
  'flow_id',
  'paused',
  'concurrency_limit',
  'concurrency_options',
  'enforce_parameter_schema',
  'parameter_openapi_schema',
  'parameters',
  'tags',
  'pull_steps',
  'work_queue_name',
  'storage_document_id',
  'infrastructure_document_id',
  'description',
  'path',
  'version',
  'entrypoint',
  'job_variables',
] as const satisfies readonly (keyof DeploymentCreateDto & keyof DeploymentEntity)[];

const UPDATE_COLUMNS = [
  'version',
  'description',
  'paused',
  'concurrency_limit',
  'concurrency_options',
  'parameters',
  'parameter_openapi_schema',
  'tags',
  'work_queue_name',
  'path',
  'job_variables',
  'pull_steps',
  'entrypoint',
  'storage_document_id',
  'infrastructure_document_id',
  'enforce_parameter_schema',
] as const satisfies readonly (keyof DeploymentUpdateDto & keyof DeploymentEntity)[];

type Columns = Partial<DeploymentEntity>;

/** The listed fields the body actually sent (Prefect's `exclude_unset`), null included. */
function sentColumns<T extends object>(body: T, columns: readonly (keyof T & keyof DeploymentEntity)[]): Columns {
  const sent: Columns = {};
  for (const column of columns) {
    if (body[column] !== undefined) Object.assign(sent, { [column]: body[column] });
  }
  return sent;
}

@Injectable()
export class DeploymentService {
  constructor(
    private readonly db: Database,
    private readonly config: AppConfig,
    private readonly parameters: DeploymentParameters,
  ) {}

  /**
   * Prefect's create is an upsert on (flow_id, name): an existing deployment gets the fields this body sent,
   * loses its future auto-scheduled runs and has its schedules replaced by the body's.
   */
  async create(body: DeploymentCreateDto): Promise<{ deployment: DeploymentResponse; created: boolean }> {
    this.parameters.checkCreate(body);
    const now = new Date();
    const { id, inserted } = await this.db.transaction(async (tx) => {
      const pool = body.work_pool_name ? await requireWorkPool(tx.workPools, body.work_pool_name) : null;
      if (body.global_concurrency_limit_id) throw notFound('Concurrency limit not found');
      const workQueueId = await this.resolveWorkQueue(tx, pool, body.work_queue_name);
      this.requireNoBlockDocuments(body);
      const flow = await tx.flows.findById(body.flow_id);
      if (!flow) throw integrityConflict();

      const sent = sentColumns(body, CREATE_COLUMNS);
      const limitIdentity =
        body.concurrency_limit === undefined
          ? undefined
          : nextConcurrencyLimitIdentity(
              await tx.deployments.findByFlowAndName(body.flow_id, body.name),
              body.concurrency_limit,
              now,
            );
      const always: Columns = {
        ...limitIdentity,
        ...(workQueueId !== undefined && { work_queue_id: workQueueId }),
        // Prefect labels every deployment with its flow, over the flow's own labels.
        labels: { ...(flow.labels ?? {}), 'prefect.flow.id': flow.id, ...(body.labels ?? {}) },
        updated: now,
      };
      const row = await tx.deployments.upsert({ pull_steps: [], parameter_openapi_schema: {}, ...sent, ...always }, [
        ...Object.keys(sent),
        ...Object.keys(always),
      ] as (keyof DeploymentEntity)[]);
      await tx.deployments.deleteScheduledRuns(row.id, { autoScheduledOnly: true, futureOnly: true });
      await tx.deploymentSchedules.deleteForDeployment(row.id);
      await this.createSchedules(tx, row.id, body.schedules ?? [], now);
      return row;
    });
    return { deployment: await this.read(id), created: inserted };
  }

  async read(id: string): Promise<DeploymentResponse> {
    const deployment = await this.db.repos.deployments.findDetailed(id);
    if (!deployment) throw notFound('Deployment not found');
    return (await this.present([deployment]))[0];
  }

  async readByName(flowName: string, name: string): Promise<DeploymentResponse> {
    const deployment = await this.db.repos.deployments.findDetailedByFlowName(flowName, name);
    if (!deployment) throw notFound('Deployment not found');
    return (await this.present([deployment]))[0];
  }

  async filter(body: DeploymentFilterRequestDto): Promise<DeploymentResponse[]> {
    const rows = await this.db.repos.queries.deployments(body, resolveLimit(body.limit, this.config.api.defaultLimit));
    const detailed = new Map(
      (await this.db.repos.deployments.findDetailedByIds(rows.map((row) => row.id))).map((d) => [d.id, d]),
    );
    return this.present(rows.flatMap((row) => detailed.get(row.id) ?? []));
  }

  /** The deployments' responses, with the busy slots of those that have a concurrency limit. */
  private async present(deployments: DeploymentEntity[]): Promise<DeploymentResponse[]> {
    const limited = deployments.filter((deployment) => deployment.concurrency_limit !== null);
    const activeSlots = await this.db.repos.deploymentConcurrencyLeases.countLiveByDeployment(
      limited.map((deployment) => deployment.id),
    );
    return deployments.map((deployment) => presentDeployment(deployment, activeSlots.get(deployment.id) ?? 0));
  }

  count(body: DeploymentCountRequestDto): Promise<number> {
    return this.db.repos.queries.countDeployments(body);
  }

  /** Prefect's `update_deployment`: only the sent fields change; future auto-scheduled runs are dropped. */
  async update(id: string, body: DeploymentUpdateDto): Promise<void> {
    const now = new Date();
    await this.db.transaction(async (tx) => {
      const existing = await tx.deployments.findDetailed(id);
      if (!existing) throw notFound('Deployment not found.');
      const plan = planScheduleUpdate(
        (existing.schedules ?? []).map((schedule) => schedule.slug),
        body.schedules,
      );
      const pool = body.work_pool_name ? await requireWorkPool(tx.workPools, body.work_pool_name) : null;
      // These columns are NOT NULL in Prefect too, where writing null fails on the constraint.
      if (body.parameters === null || body.enforce_parameter_schema === null) throw integrityConflict();
      const hydrated = this.parameters.checkUpdate(existing, body);
      if (body.global_concurrency_limit_id) throw notFound('Concurrency limit not found');

      const { job_variables: jobVariables, ...sent } = sentColumns(body, UPDATE_COLUMNS);
      if (hydrated) sent.parameters = hydrated;
      const workQueueId =
        body.work_pool_name === null ? null : await this.resolveWorkQueue(tx, pool, body.work_queue_name);
      const limitIdentity: ConcurrencyLimitIdentity | undefined =
        body.concurrency_limit === undefined
          ? undefined
          : nextConcurrencyLimitIdentity(existing, body.concurrency_limit, now);
      await tx.deployments.updateColumns(id, {
        ...sent,
        ...limitIdentity,
        // Prefect drops a null `job_variables` rather than writing it.
        ...(jobVariables !== null && jobVariables !== undefined && { job_variables: jobVariables }),
        ...(workQueueId !== undefined && { work_queue_id: workQueueId }),
        updated: now,
      });
      await tx.deployments.deleteScheduledRuns(id, { autoScheduledOnly: true, futureOnly: true });

      if (plan.kind === 'replace') {
        await tx.deploymentSchedules.deleteForDeployment(id);
        await this.createSchedules(tx, id, plan.create, now);
      } else if (plan.kind === 'targeted') {
        await this.patchSchedulesBySlug(tx, id, plan.patch, now);
        await this.createSchedules(tx, id, plan.create, now);
      }
    });
  }

  /** Deletes the deployment and every run of it still waiting to be scheduled (auto-scheduled or not). */
  async delete(id: string): Promise<void> {
    const deleted = await this.db.transaction(async (tx) => {
      await tx.deployments.deleteScheduledRuns(id, { autoScheduledOnly: false, futureOnly: false });
      return tx.deployments.deleteById(id);
    });
    if (!deleted) throw notFound('Deployment not found');
  }

  /** Pausing drops every auto-scheduled run still waiting, past ones included. */
  async pause(id: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      if (!(await tx.deployments.updateColumns(id, { paused: true, updated: new Date() }))) {
        throw notFound('Deployment not found');
      }
      await tx.deployments.deleteScheduledRuns(id, { autoScheduledOnly: true, futureOnly: false });
    });
  }

  async resume(id: string): Promise<void> {
    if (!(await this.db.repos.deployments.updateColumns(id, { paused: false, updated: new Date() }))) {
      throw notFound('Deployment not found');
    }
  }

  /**
   * The queue a deployment is assigned to (undefined: leave it as it is). A pool with a queue name gets that
   * queue, created in the pool if missing; a pool alone gets its default queue; a queue name alone is found or
   * made the legacy way (ensureLegacyWorkQueue).
   */
  private async resolveWorkQueue(
    tx: Transaction,
    pool: WorkPoolEntity | null,
    queueName: string | null | undefined,
  ): Promise<string | null | undefined> {
    if (pool && queueName) return (await queueInPool(tx, pool, queueName)).id;
    if (pool) return pool.default_queue_id;
    if (!queueName) return undefined;
    return (await ensureLegacyWorkQueue(tx, queueName)).id;
  }

  /** Prefect checks referenced block documents exist; this server stores none, so any reference is dangling. */
  private requireNoBlockDocuments(body: DeploymentCreateDto): void {
    const missing = (kind: string, id: string) =>
      conflict(
        `Error creating deployment. Could not find ${kind} block with id: ${id}. This usually occurs when applying a ` +
          'deployment specification that was built against a different Prefect database / workspace.',
      );
    if (body.infrastructure_document_id) throw missing('infrastructure', body.infrastructure_document_id);
    if (body.storage_document_id) throw missing('storage', body.storage_document_id);
  }

  /** Schedules sent with the deployment: Prefect rebuilds them without `max_scheduled_runs`, which is dropped. */
  private async createSchedules(
    tx: Transaction,
    deploymentId: string,
    schedules: NewSchedule[],
    now: Date,
  ): Promise<void> {
    const created = await tx.deploymentSchedules.insertMany(
      deploymentId,
      schedules.map((schedule) => ({ ...newScheduleValues(schedule, now), max_scheduled_runs: null })),
    );
    if (created.length !== schedules.length) throw integrityConflict();
  }

  /** Renamed schedules first lose their old slug, so that renames cannot collide with each other. */
  private async patchSchedulesBySlug(
    tx: Transaction,
    deploymentId: string,
    patches: DeploymentScheduleUpdateDto[],
    now: Date,
  ): Promise<void> {
    const renamedIds = new Map<string, string>();
    for (const { replaces } of patches) {
      if (!replaces) continue;
      const scheduleId = await tx.deploymentSchedules.findIdBySlug(deploymentId, replaces);
      if (!scheduleId) throw notFound(`Schedule with slug '${replaces}' no longer exists.`);
      renamedIds.set(replaces, scheduleId);
    }
    await tx.deploymentSchedules.clearSlugs(deploymentId, [...renamedIds.keys()]);
    for (const patch of patches) {
      const target = patch.replaces ? { id: renamedIds.get(patch.replaces) ?? '' } : { slug: patch.slug ?? '' };
      await tx.deploymentSchedules.updateForDeployment(deploymentId, target, scheduleChanges(patch, now));
    }
  }
}
