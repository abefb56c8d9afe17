import { AppConfig } from '@app/config';
import {
  WorkPoolConcurrencyStatus,
  WorkPoolConcurrencyStatusRequestDto,
  WorkPoolCountRequestDto,
  WorkPoolCreateDto,
  WorkPoolFilterRequestDto,
  WorkPoolResponse,
  WorkPoolStorageConfigurationDto,
  WorkPoolUpdateDto,
} from '@app/contracts';
import {
  baseJobTemplateError,
  conflict,
  firstFreePriority,
  forbidden,
  initialWorkPoolStatus,
  integrityConflict,
  isAllowedReservedPoolUpdate,
  isReservedWorkPoolName,
  notFound,
  omitsDefaultResultStorageBlockId,
  pageCount,
  prefectClientVersion,
  presentFlowRunSlotSummary,
  presentWorkPool,
  pythonRepr,
  resolveLimit,
  SLOT_OCCUPYING_STATE_TYPES,
  statusTransitionStamp,
  validationFailed,
  workPoolStatusEvent,
  workPoolStatusForPause,
} from '@app/domain';
import { EventPublisher } from '@app/messaging';
import { Database, WorkPoolEntity } from '@app/persistence';
import { Injectable } from '@nestjs/common';
import { countHeldSlots, countSlotHolders, DEFAULT_QUEUE, requireWorkPool } from './work-pool.helpers';
import { WorkPoolDelivery } from './work-pool-delivery.service';

/** Fields Prefect stores in NOT NULL columns: an explicit null in an update breaks the constraint. */
const NOT_NULL_UPDATE_FIELDS = ['is_paused', 'base_job_template', 'storage_configuration'] as const;

/** Prefect's pydantic validator on `base_job_template`, reported as the 422 it produces. */
function assertValidBaseJobTemplate(template: Record<string, unknown> | null | undefined): void {
  const error = template ? baseJobTemplateError(template) : null;
  if (error) {
    throw validationFailed([
      {
        type: 'value_error',
        loc: ['body', 'base_job_template'],
        msg: `Value error, ${error}`,
        input: template,
        ctx: { error: {} },
      },
    ]);
  }
}

/** Stored with every key, as Prefect's model dumps it. */
function storageConfiguration(given: WorkPoolStorageConfigurationDto): Record<string, unknown> {
  return {
    bundle_upload_step: given.bundle_upload_step ?? null,
    bundle_execution_step: given.bundle_execution_step ?? null,
    default_result_storage_block_id: given.default_result_storage_block_id ?? null,
  };
}

@Injectable()
export class WorkPoolService {
  constructor(
    private readonly db: Database,
    private readonly config: AppConfig,
    private readonly delivery: WorkPoolDelivery,
    private readonly events: EventPublisher,
  ) {}

  /** A new pool announces its status. As in Prefect, that event is not stamped on the row, so the next follows nothing. */
  async create(body: WorkPoolCreateDto, userAgent: string | undefined): Promise<WorkPoolResponse> {
    assertValidBaseJobTemplate(body.base_job_template);
    if (isReservedWorkPoolName(body.name)) {
      throw forbidden("Work pools starting with 'Prefect' are reserved for internal use.");
    }
    const pool = await this.db.transaction(async (tx) => {
      const inserted = await tx.workPools.insertIfAbsent({
        name: body.name,
        description: body.description ?? null,
        type: body.type,
        base_job_template: body.base_job_template,
        is_paused: body.is_paused,
        concurrency_limit: body.concurrency_limit ?? null,
        status: initialWorkPoolStatus(body.type, body.is_paused),
        storage_configuration: storageConfiguration(body.storage_configuration),
      });
      if (!inserted) throw conflict('A work pool with this name already exists.');
      const queue = await tx.workQueues.insert({
        ...DEFAULT_QUEUE,
        work_pool_id: inserted.id,
        priority: firstFreePriority([]),
      });
      await tx.workPools.updateById(inserted.id, { default_queue_id: queue.id });
      const event = workPoolStatusEvent({ ...inserted, ...statusTransitionStamp(new Date()) }, null);
      tx.afterCommit(() => this.events.publish([event]));
      return Object.assign(inserted, { default_queue_id: queue.id });
    });
    return this.present(pool, new Map(), userAgent);
  }

  async read(name: string, userAgent: string | undefined): Promise<WorkPoolResponse> {
    const pool = await requireWorkPool(this.db.repos.workPools, name);
    const slots = await countHeldSlots([pool], (ids, states) => this.db.repos.workPools.countRunsInStates(ids, states));
    return this.present(pool, slots, userAgent);
  }

  async filter(body: WorkPoolFilterRequestDto, userAgent: string | undefined): Promise<WorkPoolResponse[]> {
    const limit = resolveLimit(body.limit, this.config.api.defaultLimit);
    const pools = await this.db.repos.workPools.find(body.work_pools, body.offset, limit);
    const slots = await countHeldSlots(pools, (ids, states) => this.db.repos.workPools.countRunsInStates(ids, states));
    return pools.map((pool) => this.present(pool, slots, userAgent));
  }

  count(body: WorkPoolCountRequestDto): Promise<number> {
    return this.db.repos.workPools.count(body.work_pools);
  }

  /**
   * `POST /work_pools/{name}/concurrency_status`: the runs holding slots in each of the pool's queues (paused ones
   * too, as Prefect's status view counts them), a page of queues by priority, each listing at most `flow_run_limit`
   * runs by id. Counted as `active_slots` in pool and queue reads is counted here.
   */
  async concurrencyStatus(name: string, body: WorkPoolConcurrencyStatusRequestDto): Promise<WorkPoolConcurrencyStatus> {
    const limit = resolveLimit(body.limit, this.config.api.defaultLimit);
    const { workPools, workQueues } = this.db.repos;
    const pool = await workPools.findByName(name);
    if (!pool) throw notFound(`Work pool ${pythonRepr(name)} not found.`);
    const allQueues = await workQueues.priorities(pool.id);
    const [page, held] = await Promise.all([
      workQueues.find(pool.id, null, (body.page - 1) * limit, limit),
      countSlotHolders(allQueues, (ids, states) => workQueues.countRunsInStates(ids, states)),
    ]);
    const holders = await workQueues.slotHolders(
      page.map((queue) => queue.id),
      SLOT_OCCUPYING_STATE_TYPES,
      { perQueue: body.flow_run_limit, offset: 0, limit: null },
    );
    const now = new Date();
    return {
      active_slots: [...held.values()].reduce((sum, count) => sum + count, 0),
      concurrency_limit: pool.concurrency_limit,
      queues: page.map((queue) => ({
        queue_id: queue.id,
        queue_name: queue.name,
        active_slots: held.get(queue.id) ?? 0,
        concurrency_limit: queue.concurrency_limit,
        flow_runs: holders
          .filter((run) => run.work_queue_id === queue.id)
          .map((run) => presentFlowRunSlotSummary(run, now)),
        flow_run_count: held.get(queue.id) ?? 0,
      })),
      count: allQueues.length,
      limit,
      pages: pageCount(allQueues.length, limit),
      page: body.page,
    };
  }

  /**
   * Only the fields present in the body change; setting `is_paused` moves the status (see workPoolStatusForPause),
   * and every status write emits its event.
   */
  async update(name: string, body: WorkPoolUpdateDto): Promise<void> {
    assertValidBaseJobTemplate(body.base_job_template);
    const fields = Object.keys(body) as (keyof WorkPoolUpdateDto)[];
    if (isReservedWorkPoolName(name) && !isAllowedReservedPoolUpdate(fields)) {
      throw forbidden(
        "Work pools starting with 'Prefect' are reserved for internal use and can only be updated to set concurrency limits or pause.",
      );
    }
    await this.db.transaction(async (tx) => {
      const pool = await requireWorkPool(tx.workPools, name, true);
      if (NOT_NULL_UPDATE_FIELDS.some((field) => body[field] === null)) throw integrityConflict();
      const unpausing = body.is_paused === false;
      const hasOnlineWorker = unpausing && (await tx.workers.existsWithStatus(pool.id, 'ONLINE'));
      const status = workPoolStatusForPause(pool.type, body.is_paused, hasOnlineWorker);
      const transition = status && { status, ...statusTransitionStamp(new Date()) };
      await tx.workPools.updateFields(pool.id, {
        ...(body.description !== undefined && { description: body.description }),
        ...(body.is_paused != null && { is_paused: body.is_paused }),
        ...(body.base_job_template != null && { base_job_template: body.base_job_template }),
        ...(body.concurrency_limit !== undefined && { concurrency_limit: body.concurrency_limit }),
        ...(body.storage_configuration != null && {
          storage_configuration: storageConfiguration(body.storage_configuration),
        }),
        ...transition,
        updated: new Date(),
      });
      if (transition) {
        const event = workPoolStatusEvent({ ...pool, ...transition }, pool);
        tx.afterCommit(() => this.events.publish([event]));
      }
      if (body.is_paused != null && body.is_paused !== pool.is_paused) {
        await this.delivery.poolPauseChanged(tx, pool.id, body.is_paused);
      }
    });
  }

  async delete(name: string): Promise<void> {
    if (isReservedWorkPoolName(name)) {
      throw forbidden("Work pools starting with 'Prefect' are reserved for internal use and can not be deleted.");
    }
    await this.db.transaction(async (tx) => {
      const pool = await requireWorkPool(tx.workPools, name, true);
      await tx.workPools.deleteById(pool.id);
      this.delivery.poolDeleted(tx, pool.id);
    });
  }

  private present(
    pool: WorkPoolEntity,
    slots: ReadonlyMap<string, number>,
    userAgent: string | undefined,
  ): WorkPoolResponse {
    return presentWorkPool(pool, {
      activeSlots: slots.get(pool.id) ?? 0,
      omitDefaultResultStorageBlockId: omitsDefaultResultStorageBlockId(prefectClientVersion(userAgent)),
    });
  }
}
