import { AppConfig } from '@app/config';
import {
  QueueFilterDto,
  WorkQueueCreateDto,
  WorkQueueFilterRequestDto,
  WorkQueueResponse,
  WorkQueueStatusDetail,
  WorkQueueUpdateDto,
} from '@app/contracts';
import {
  conflict,
  firstFreePriority,
  integrityConflict,
  notFound,
  presentWorkQueue,
  QueuePriority,
  rebalancePriorities,
  resolveLimit,
  workQueueHealth,
  workQueueStatusEvent,
  workQueueStatusForPause,
} from '@app/domain';
import { EventPublisher } from '@app/messaging';
import { Database, Transaction, WorkPoolEntity, WorkQueueEntity } from '@app/persistence';
import { Injectable } from '@nestjs/common';
import { WorkPoolDelivery } from './work-pool-delivery.service';
import { countHeldSlots, requireWorkPool, workQueueNotFound } from './work-pool.helpers';

/** Fields Prefect stores in NOT NULL columns: an explicit null in an update breaks the constraint. */
const NOT_NULL_UPDATE_FIELDS = ['name', 'priority'] as const;

/** Stored with both keys, as Prefect's model dumps the deprecated filter. */
const queueFilter = (filter: QueueFilterDto | null | undefined) =>
  filter ? { tags: filter.tags ?? null, deployment_ids: filter.deployment_ids ?? null } : null;

/**
 * Priorities stay unique within a pool the way Prefect keeps them: a queue given a rank takes it and the
 * queues from there on shift down as needed (rebalancePriorities). Every write here locks the pool row first,
 * so concurrent writers cannot hand out the same rank.
 */
@Injectable()
export class WorkQueueService {
  constructor(
    private readonly db: Database,
    private readonly config: AppConfig,
    private readonly delivery: WorkPoolDelivery,
    private readonly events: EventPublisher,
  ) {}

  async create(workPoolName: string, body: WorkQueueCreateDto): Promise<WorkQueueResponse> {
    return this.db.transaction(async (tx) => {
      const pool = await requireWorkPool(tx.workPools, workPoolName, true);
      const siblings = await tx.workQueues.priorities(pool.id);
      const priority = body.priority ?? firstFreePriority(siblings.map((queue) => queue.priority));
      const queue = await tx.workQueues.insertIfAbsent({
        work_pool_id: pool.id,
        name: body.name,
        description: body.description,
        is_paused: body.is_paused,
        concurrency_limit: body.concurrency_limit ?? null,
        priority,
        filter: queueFilter(body.filter),
      });
      // Prefect's text is not an f-string, so the placeholder is sent as is.
      if (!queue) throw conflict('A work queue with this name already exists in work pool {work_pool_name!r}.');
      if (body.priority) {
        await this.rebalance(tx, [...siblings, { id: queue.id, priority }], { id: queue.id, priority });
      }
      return presentWorkQueue(queue, pool.name, 0);
    });
  }

  async read(workPoolName: string, name: string): Promise<WorkQueueResponse> {
    const queue = await this.db.repos.workQueues.findByNames(workPoolName, name);
    if (!queue) throw workQueueNotFound(workPoolName, name);
    const slots = await countHeldSlots([queue], (ids, states) =>
      this.db.repos.workQueues.countRunsInStates(ids, states),
    );
    return presentWorkQueue(queue, workPoolName, slots.get(queue.id) ?? 0);
  }

  /** `GET /work_queues/{id}` (the CLI reads queues by id). */
  async readById(id: string): Promise<WorkQueueResponse> {
    const { queue, poolName } = await this.requireQueueById(id);
    const slots = await countHeldSlots([queue], (ids, states) =>
      this.db.repos.workQueues.countRunsInStates(ids, states),
    );
    return presentWorkQueue(queue, poolName, slots.get(queue.id) ?? 0);
  }

  /** `PATCH /work_queues/{id}`: the same update as through the pool's path. */
  async updateById(id: string, body: WorkQueueUpdateDto): Promise<void> {
    const { queue, poolName } = await this.requireQueueById(id);
    await this.update(poolName, queue.name, body);
  }

  /** `GET /work_queues/{id}/status`: Prefect's legacy health view (no late runs, polled within 60 s). */
  async statusById(id: string): Promise<WorkQueueStatusDetail> {
    const { queue } = await this.requireQueueById(id);
    const lateRuns = await this.db.repos.workQueues.countLateRuns(queue.id);
    return workQueueHealth(queue.last_polled, lateRuns, new Date());
  }

  private async requireQueueById(id: string): Promise<{ queue: WorkQueueEntity; poolName: string }> {
    const queue = await this.db.repos.workQueues.findById(id);
    const pool = queue && (await this.db.repos.workPools.findById(queue.work_pool_id));
    if (!queue || !pool) throw notFound('Work queue not found');
    return { queue, poolName: pool.name };
  }

  async filter(workPoolName: string, body: WorkQueueFilterRequestDto): Promise<WorkQueueResponse[]> {
    const limit = resolveLimit(body.limit, this.config.api.defaultLimit);
    const pool = await requireWorkPool(this.db.repos.workPools, workPoolName);
    const queues = await this.db.repos.workQueues.find(pool.id, body.work_queues, body.offset, limit);
    const slots = await countHeldSlots(queues, (ids, states) =>
      this.db.repos.workQueues.countRunsInStates(ids, states),
    );
    return queues.map((queue) => presentWorkQueue(queue, pool.name, slots.get(queue.id) ?? 0));
  }

  /**
   * Only the fields present in the body change; setting `is_paused` may move the status (workQueueStatusForPause),
   * and a status change emits its event.
   */
  async update(workPoolName: string, name: string, body: WorkQueueUpdateDto): Promise<void> {
    await this.db.transaction(async (tx) => {
      const { pool, queue } = await this.requireQueue(tx, workPoolName, name);
      if (NOT_NULL_UPDATE_FIELDS.some((field) => body[field] === null)) throw integrityConflict();
      if (body.name && body.name !== queue.name && (await tx.workQueues.findInPool(queue.work_pool_id, body.name))) {
        throw integrityConflict();
      }
      const lastPolled = body.last_polled === undefined ? queue.last_polled : body.last_polled;
      const now = new Date();
      const status = workQueueStatusForPause(queue.status, body.is_paused, lastPolled, now);
      await tx.workQueues.updateFields(queue.id, {
        ...(body.name != null && { name: body.name }),
        ...(body.description !== undefined && { description: body.description }),
        ...(body.is_paused !== undefined && { is_paused: body.is_paused }),
        ...(body.concurrency_limit !== undefined && { concurrency_limit: body.concurrency_limit }),
        ...(body.priority != null && { priority: body.priority }),
        ...(body.last_polled !== undefined && { last_polled: body.last_polled }),
        ...(body.filter !== undefined && { filter: queueFilter(body.filter) }),
        ...(status && { status }),
        updated: now,
      });
      if (status) {
        const event = workQueueStatusEvent(status, { id: queue.id, name: body.name ?? queue.name }, pool, now);
        tx.afterCommit(() => this.events.publish([event]));
      }
      if (body.priority != null) {
        await this.rebalance(tx, await tx.workQueues.priorities(queue.work_pool_id), {
          id: queue.id,
          priority: body.priority,
        });
      }
      if (body.is_paused != null && body.is_paused !== queue.is_paused) {
        await this.delivery.queuePauseChanged(tx, queue.work_pool_id, queue.id, body.is_paused);
      }
    });
  }

  /** The pool's default queue cannot go: every pool keeps one (Prefect refuses it through a foreign key). */
  async delete(workPoolName: string, name: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      const { pool, queue } = await this.requireQueue(tx, workPoolName, name);
      if (queue.id === pool.default_queue_id) throw conflict("Can't delete a pool's default queue.");
      await tx.workQueues.deleteById(queue.id);
      await this.rebalance(tx, await tx.workQueues.priorities(pool.id));
      this.delivery.queueDeleted(tx, pool.id, queue.id);
    });
  }

  /** The pool (locked) and its queue, with Prefect's 404 for whichever is missing. */
  private async requireQueue(
    tx: Transaction,
    workPoolName: string,
    name: string,
  ): Promise<{ pool: WorkPoolEntity; queue: WorkQueueEntity }> {
    const pool = await requireWorkPool(tx.workPools, workPoolName, true);
    const queue = await tx.workQueues.findInPool(pool.id, name);
    if (!queue) throw workQueueNotFound(workPoolName, name);
    return { pool, queue };
  }

  private async rebalance(tx: Transaction, queues: QueuePriority[], target?: QueuePriority): Promise<void> {
    await tx.workQueues.setPriorities(rebalancePriorities(queues, target));
  }
}
