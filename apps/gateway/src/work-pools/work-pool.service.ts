import { AppConfig } from '@app/config';
import {
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
  omitsDefaultResultStorageBlockId,
  prefectClientVersion,
  presentWorkPool,
  resolveLimit,
  statusTransitionStamp,
  validationFailed,
  workPoolStatusEvent,
  workPoolStatusForPause,
} from '@app/domain';
import { EventPublisher } from '@app/messaging';
import { Database, WorkPoolEntity } from '@app/persistence';
import { Injectable } from '@nestjs/common';
import { countHeldSlots, requireWorkPool } from './work-pool.helpers';
import { WorkPoolDelivery } from './work-pool-delivery.service';

const DEFAULT_QUEUE = { name: 'default', description: "The work pool's default queue." };

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
