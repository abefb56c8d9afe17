import { firstFreePriority, notFound, SLOT_OCCUPYING_STATE_TYPES } from '@app/domain';
import type { Transaction, WorkPoolEntity, WorkPoolRepository, WorkQueueEntity } from '@app/persistence';

const workPoolNotFound = (name: string) => notFound(`Work pool "${name}" not found.`);

export const workQueueNotFound = (workPoolName: string, name: string) =>
  notFound(`Work pool queue '${workPoolName}/${name}' not found.`);

/** The pool named `name`, locked until the transaction ends when `lock` is set; 404 with Prefect's text otherwise. */
export async function requireWorkPool(pools: WorkPoolRepository, name: string, lock = false): Promise<WorkPoolEntity> {
  const pool = await (lock ? pools.findByNameForUpdate(name) : pools.findByName(name));
  if (!pool) throw workPoolNotFound(name);
  return pool;
}

/**
 * The pool's queue named `name`, created at the first free priority when it does not exist yet. Creation is
 * serialised on the pool row, as the work-queue routes do it, so concurrent writers cannot take the same rank.
 */
export async function queueInPool(tx: Transaction, pool: WorkPoolEntity, name: string): Promise<WorkQueueEntity> {
  const existing = await tx.workQueues.findInPool(pool.id, name);
  if (existing) return existing;
  await tx.workPools.findByNameForUpdate(pool.name);
  const priorities = await tx.workQueues.priorities(pool.id);
  const created = await tx.workQueues.insertIfAbsent({
    work_pool_id: pool.id,
    name,
    priority: firstFreePriority(priorities.map((queue) => queue.priority)),
  });
  const queue = created ?? (await tx.workQueues.findInPool(pool.id, name));
  if (!queue) throw workQueueNotFound(pool.name, name);
  return queue;
}

/**
 * Slots held in each of `rows` (pools or queues), counted only for the ones with a concurrency limit: Prefect
 * reports `active_slots` for those alone.
 */
export function countHeldSlots(
  rows: readonly { id: string; concurrency_limit: number | null }[],
  countRunsInStates: CountRunsInStates,
): Promise<Map<string, number>> {
  return countSlotHolders(
    rows.filter((row) => row.concurrency_limit !== null),
    countRunsInStates,
  );
}

type CountRunsInStates = (ids: readonly string[], stateTypes: readonly string[]) => Promise<Map<string, number>>;

/** Slots held in each of `rows`, limited or not (the `concurrency_status` routes report them for every queue). */
export function countSlotHolders(
  rows: readonly { id: string }[],
  countRunsInStates: CountRunsInStates,
): Promise<Map<string, number>> {
  return countRunsInStates(
    rows.map((row) => row.id),
    SLOT_OCCUPYING_STATE_TYPES,
  );
}
