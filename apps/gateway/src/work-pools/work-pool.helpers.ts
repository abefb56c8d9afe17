import { notFound, SLOT_OCCUPYING_STATE_TYPES } from '@app/domain';
import type { WorkPoolEntity, WorkPoolRepository } from '@app/persistence';
import { randomUUID } from 'node:crypto';

/** Prefect's answer to a write that breaks a unique or not-null constraint (its IntegrityError handler). */
export const DATA_INTEGRITY_CONFLICT =
  'Data integrity conflict. This usually means a unique or foreign key constraint was violated. See server logs for details.';

const workPoolNotFound = (name: string) => notFound(`Work pool "${name}" not found.`);

/** The pool named `name`, locked until the transaction ends when `lock` is set; 404 with Prefect's text otherwise. */
export async function requireWorkPool(pools: WorkPoolRepository, name: string, lock = false): Promise<WorkPoolEntity> {
  const pool = await (lock ? pools.findByNameForUpdate(name) : pools.findByName(name));
  if (!pool) throw workPoolNotFound(name);
  return pool;
}

/**
 * Slots held in each of `rows` (pools or queues), counted only for the ones with a concurrency limit: Prefect
 * reports `active_slots` for those alone.
 */
export function countHeldSlots(
  rows: readonly { id: string; concurrency_limit: number | null }[],
  countRunsInStates: (ids: readonly string[], stateTypes: readonly string[]) => Promise<Map<string, number>>,
): Promise<Map<string, number>> {
  const limited = rows.filter((row) => row.concurrency_limit !== null).map((row) => row.id);
  return countRunsInStates(limited, SLOT_OCCUPYING_STATE_TYPES);
}

/** Prefect stamps every pool status write with a fresh event id and the time of the transition. */
export function statusTransitionStamp(): { last_status_event_id: string; last_transitioned_status_at: Date } {
  return { last_status_event_id: randomUUID(), last_transitioned_status_at: new Date() };
}
