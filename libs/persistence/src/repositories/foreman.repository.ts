import type { WorkPoolStatus } from '@app/domain';
import { EntityManager } from 'typeorm';

/** A pool the foreman made NOT_READY: the row as written, and the stamp of the status change before it. */
export interface UnreadiedWorkPool {
  id: string;
  name: string;
  type: string;
  status: WorkPoolStatus;
  last_status_event_id: string;
  last_transitioned_status_at: Date;
  previous: { last_status_event_id: string | null; last_transitioned_status_at: Date | null };
}

/** The pool a queue or deployment belongs to, as its status event names it. */
export interface OwningPool {
  id: string;
  name: string;
  type: string;
}

/** A deployment the foreman made NOT_READY, with the names its event carries; `pool` is its queue's. */
export interface UnreadiedDeployment {
  id: string;
  name: string;
  flow_id: string;
  flow_name: string;
  work_queue_id: string | null;
  work_queue_name: string | null;
  pool: OwningPool | null;
}

/** A work queue the foreman made NOT_READY, with its pool. */
export interface UnreadiedWorkQueue {
  id: string;
  name: string;
  pool: OwningPool;
}

interface PoolColumns {
  pool_id: string | null;
  pool_name: string | null;
  pool_type: string | null;
}

const owningPool = (row: PoolColumns): OwningPool | null =>
  row.pool_id === null ? null : { id: row.pool_id, name: row.pool_name ?? '', type: row.pool_type ?? '' };

/**
 * The foreman's sweeps (Prefect's `Foreman`). Each is one conditional UPDATE that locks its rows in id order and
 * re-checks the condition on the locked version, then returns only the rows it changed: concurrent sweeps (scheduler
 * replicas) and API writes never make one transition twice.
 */
export class ForemanRepository {
  constructor(private readonly manager: EntityManager) {}

  /**
   * ONLINE workers without a heartbeat for more than `multiple` heartbeat intervals (their own, or `fallbackSeconds`
   * when they never gave one) become OFFLINE. Resolves to how many did.
   */
  async markSilentWorkersOffline(now: Date, fallbackSeconds: number, multiple: number): Promise<number> {
    const [, changed]: [unknown[], number] = await this.manager.query(
      `UPDATE worker w SET status = 'OFFLINE', updated = $1
         FROM (SELECT id FROM worker
                WHERE status = 'ONLINE'
                  AND last_heartbeat_time < $1::timestamptz - make_interval(secs => coalesce(heartbeat_interval_seconds, $2) * $3)
                ORDER BY id FOR UPDATE) AS silent
        WHERE w.id = silent.id`,
      [now, fallbackSeconds, multiple],
    );
    return changed;
  }

  /**
   * READY pools without an ONLINE worker become NOT_READY, stamped with a new status event id and `now`, as every
   * pool status write is.
   */
  async markPoolsWithoutOnlineWorkersNotReady(now: Date): Promise<UnreadiedWorkPool[]> {
    const [rows]: [
      (Omit<UnreadiedWorkPool, 'previous'> & { previous_event_id: string | null; previous_at: Date | null })[],
      number,
    ] = await this.manager.query(
      `UPDATE work_pool wp
            SET status = 'NOT_READY', last_status_event_id = gen_random_uuid(), last_transitioned_status_at = $1, updated = $1
           FROM (SELECT id, last_status_event_id, last_transitioned_status_at FROM work_pool p
                  WHERE status = 'READY'
                    AND NOT EXISTS (SELECT 1 FROM worker w WHERE w.work_pool_id = p.id AND w.status = 'ONLINE')
                  ORDER BY id FOR UPDATE) AS before
          WHERE wp.id = before.id
         RETURNING wp.id, wp.name, wp.type, wp.status, wp.last_status_event_id, wp.last_transitioned_status_at,
                   before.last_status_event_id AS previous_event_id, before.last_transitioned_status_at AS previous_at`,
      [now],
    );
    return rows.map(({ previous_event_id, previous_at, ...pool }) => ({
      ...pool,
      previous: { last_status_event_id: previous_event_id, last_transitioned_status_at: previous_at },
    }));
  }

  /**
   * READY deployments polled last before `threshold` become NOT_READY, unless their queue was polled since. Their
   * `updated` is left alone, as a poll leaves it (it would otherwise wake the scheduler of recent deployments).
   */
  async markStaleDeploymentsNotReady(threshold: Date): Promise<UnreadiedDeployment[]> {
    const rows: (Omit<UnreadiedDeployment, 'pool'> & PoolColumns)[] = await this.manager.query(
      `WITH stale AS (
         SELECT d.id FROM deployment d LEFT JOIN work_queue wq ON wq.id = d.work_queue_id
          WHERE d.status = 'READY' AND d.last_polled < $1 AND (wq.last_polled IS NULL OR wq.last_polled < $1)
          ORDER BY d.id FOR UPDATE OF d
       ), changed AS (
         UPDATE deployment d SET status = 'NOT_READY' FROM stale WHERE d.id = stale.id
         RETURNING d.id, d.name, d.flow_id, d.work_queue_id
       )
       SELECT changed.id, changed.name, changed.flow_id, f.name AS flow_name, changed.work_queue_id, wq.name AS work_queue_name,
              wp.id AS pool_id, wp.name AS pool_name, wp.type AS pool_type
         FROM changed
         JOIN flow f ON f.id = changed.flow_id
         LEFT JOIN work_queue wq ON wq.id = changed.work_queue_id
         LEFT JOIN work_pool wp ON wp.id = wq.work_pool_id
        ORDER BY changed.id`,
      [threshold],
    );
    return rows.map(({ pool_id, pool_name, pool_type, ...deployment }) => ({
      ...deployment,
      pool: owningPool({ pool_id, pool_name, pool_type }),
    }));
  }

  /** READY queues last polled before `threshold` become NOT_READY; resolves to them, longest silent first. */
  async markStaleWorkQueuesNotReady(threshold: Date, now: Date): Promise<UnreadiedWorkQueue[]> {
    const rows: ({ id: string; name: string } & PoolColumns)[] = await this.manager.query(
      `WITH stale AS (
         SELECT id FROM work_queue WHERE status = 'READY' AND last_polled < $1 ORDER BY id FOR UPDATE
       ), changed AS (
         UPDATE work_queue wq SET status = 'NOT_READY', updated = $2 FROM stale WHERE wq.id = stale.id
         RETURNING wq.id, wq.name, wq.work_pool_id, wq.last_polled
       )
       SELECT changed.id, changed.name, wp.id AS pool_id, wp.name AS pool_name, wp.type AS pool_type
         FROM changed JOIN work_pool wp ON wp.id = changed.work_pool_id
        ORDER BY changed.last_polled, changed.id`,
      [threshold, now],
    );
    return rows.map(({ pool_id, pool_name, pool_type, ...queue }) => ({
      ...queue,
      pool: owningPool({ pool_id, pool_name, pool_type }) as OwningPool,
    }));
  }
}
