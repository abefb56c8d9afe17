import { randomUUID } from 'node:crypto';

/** What identifies a deployment's limit the way Prefect's `concurrency_limit_v2` row does. */
export interface ConcurrencyLimitIdentity {
  concurrency_limit_id: string | null;
  concurrency_limit_created: Date | null;
  concurrency_limit_updated: Date | null;
}

/**
 * Prefect's `_create_or_update_deployment_concurrency_limit`: the same limit changes nothing; a new value updates
 * the row (same id, `updated` now); a first limit makes a new row; no limit deletes it.
 */
export function nextConcurrencyLimitIdentity(
  previous: (ConcurrencyLimitIdentity & { concurrency_limit: number | null }) | null,
  limit: number | null,
  now: Date,
): ConcurrencyLimitIdentity {
  if (limit === null) {
    return { concurrency_limit_id: null, concurrency_limit_created: null, concurrency_limit_updated: null };
  }
  const current = previous?.concurrency_limit_id ? previous : null;
  if (!current) {
    return { concurrency_limit_id: randomUUID(), concurrency_limit_created: now, concurrency_limit_updated: now };
  }
  return {
    concurrency_limit_id: current.concurrency_limit_id,
    concurrency_limit_created: current.concurrency_limit_created,
    concurrency_limit_updated: current.concurrency_limit === limit ? current.concurrency_limit_updated : now,
  };
}
