import {
  firstFreePriority,
  initialWorkPoolStatus,
  notFound,
  PREFECT_AGENT_POOL_TYPE,
  rebalancePriorities,
  SLOT_OCCUPYING_STATE_TYPES,
} from '@app/domain';
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

/** Prefect's legacy pool, where queues named without a pool live. */
export const DEFAULT_AGENT_WORK_POOL_NAME = 'default-agent-pool';

/** The description Prefect gives every pool's default queue. */
export const DEFAULT_QUEUE = { name: 'default', description: "The work pool's default queue." };

/**
 * Prefect's `ensure_work_queue_exists`, for a queue named without a pool (a deployment's `work_queue_name` alone):
 * with a `default-agent-pool`, the queue of that name in it, created at priority 1 (the others shift down) when
 * missing; without one, the queue of that name in any pool, else the agent pool is created and the queue in it.
 * `default` is the agent pool's default queue.
 */
export async function ensureLegacyWorkQueue(tx: Transaction, name: string): Promise<WorkQueueEntity> {
  const agentPool = await tx.workPools.findByNameForUpdate(DEFAULT_AGENT_WORK_POOL_NAME);
  if (!agentPool) {
    const anywhere = await tx.workQueues.findAnyNamed(name);
    if (anywhere) return anywhere;
  }
  const pool = agentPool ?? (await createAgentPool(tx));
  const existing = await tx.workQueues.findInPool(pool.id, name);
  if (existing) return existing;
  const siblings = await tx.workQueues.priorities(pool.id);
  const queue = await tx.workQueues.insert({ work_pool_id: pool.id, name, priority: 1 });
  await tx.workQueues.setPriorities(rebalancePriorities([...siblings, { id: queue.id, priority: 1 }], queue));
  return queue;
}

/** The `default-agent-pool` with its default queue, locked until the transaction ends. */
async function createAgentPool(tx: Transaction): Promise<WorkPoolEntity> {
  const inserted = await tx.workPools.insertIfAbsent({
    name: DEFAULT_AGENT_WORK_POOL_NAME,
    type: PREFECT_AGENT_POOL_TYPE,
    status: initialWorkPoolStatus(PREFECT_AGENT_POOL_TYPE, false),
  });
  if (inserted) {
    const queue = await tx.workQueues.insert({ ...DEFAULT_QUEUE, work_pool_id: inserted.id, priority: 1 });
    await tx.workPools.updateById(inserted.id, { default_queue_id: queue.id });
  }
  // Another writer may have created it meanwhile: wait for its commit and use that one.
  return requireWorkPool(tx.workPools, DEFAULT_AGENT_WORK_POOL_NAME, true);
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
