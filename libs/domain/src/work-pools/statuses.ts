import { formatDateTime, WorkQueueStatusDetail } from '@app/contracts';
import { randomUUID } from 'node:crypto';
import type { WorkPoolStatus } from './work-pool-status';
import type { WorkQueueStatus } from './work-queue-status';

/** The server-side default pool type; Prefect keeps no meaningful status for these (legacy agents). */
export const PREFECT_AGENT_POOL_TYPE = 'prefect-agent';

/** Flow-run state types that hold a pool or queue concurrency slot (CANCELLING does not). */
export const SLOT_OCCUPYING_STATE_TYPES = ['PENDING', 'RUNNING'] as const;

/** A queue counts as polled "recently" for this long (`WORK_QUEUE_LAST_POLLED_TIMEOUT`). */
export const WORK_QUEUE_LAST_POLLED_TIMEOUT_MS = 60_000;

/** Status a new pool is stored with. Agent pools keep the column default, whatever `is_paused` says. */
export function initialWorkPoolStatus(type: string, isPaused: boolean): WorkPoolStatus {
  return type !== PREFECT_AGENT_POOL_TYPE && isPaused ? 'PAUSED' : 'NOT_READY';
}

/** The status clients see: agent pools report none. */
export function reportedWorkPoolStatus(type: string, status: WorkPoolStatus): WorkPoolStatus | null {
  return type === PREFECT_AGENT_POOL_TYPE ? null : status;
}

/**
 * Status written when a pool update sets `is_paused` (undefined: no status change). Pausing always
 * (re)writes PAUSED; unpausing lands on READY only if a worker is ONLINE. Agent pools are never touched.
 */
export function workPoolStatusForPause(
  type: string,
  isPaused: boolean | null | undefined,
  hasOnlineWorker: boolean,
): WorkPoolStatus | undefined {
  if (type === PREFECT_AGENT_POOL_TYPE || isPaused === null || isPaused === undefined) return undefined;
  if (isPaused) return 'PAUSED';
  return hasOnlineWorker ? 'READY' : 'NOT_READY';
}

/** What a pool row records of its last status change: the id of the change's event and when it happened. */
export interface StatusTransitionStamp {
  last_status_event_id: string;
  last_transitioned_status_at: Date;
}

/** Prefect stamps every pool status write with a fresh event id and the time of the transition. */
export function statusTransitionStamp(now: Date): StatusTransitionStamp {
  return { last_status_event_id: randomUUID(), last_transitioned_status_at: now };
}

/** Whether a queue's last poll is recent enough for it to count as READY (`is_last_polled_recent`). */
export function isLastPolledRecent(lastPolled: Date | null | undefined, now: Date): boolean {
  return (
    lastPolled !== null &&
    lastPolled !== undefined &&
    now.getTime() - lastPolled.getTime() <= WORK_QUEUE_LAST_POLLED_TIMEOUT_MS
  );
}

/**
 * Status written when a queue update sets `is_paused` (undefined: no status change). Only real transitions
 * count: pausing a PAUSED queue or unpausing one that is not PAUSED leaves the status alone.
 */
export function workQueueStatusForPause(
  current: WorkQueueStatus,
  isPaused: boolean | undefined,
  lastPolled: Date | null,
  now: Date,
): WorkQueueStatus | undefined {
  if (isPaused === true && current !== 'PAUSED') return 'PAUSED';
  if (isPaused === false && current === 'PAUSED') return isLastPolledRecent(lastPolled, now) ? 'READY' : 'NOT_READY';
  return undefined;
}

/** Prefect's legacy `WorkQueueHealthPolicy` defaults: no late runs, polled within the last 60 s. */
export const WORK_QUEUE_HEALTH_POLICY = { maximum_late_runs: 0, maximum_seconds_since_last_polled: 60 } as const;

/** `GET /work_queues/{id}/status`: healthy iff late runs ≤ the maximum and the queue was polled recently. */
export function workQueueHealth(lastPolled: Date | null, lateRuns: number, now: Date): WorkQueueStatusDetail {
  const polledRecently =
    lastPolled !== null &&
    now.getTime() - lastPolled.getTime() <= WORK_QUEUE_HEALTH_POLICY.maximum_seconds_since_last_polled * 1000;
  return {
    healthy: lateRuns <= WORK_QUEUE_HEALTH_POLICY.maximum_late_runs && polledRecently,
    late_runs_count: lateRuns,
    last_polled: formatDateTime(lastPolled),
    health_check_policy: { ...WORK_QUEUE_HEALTH_POLICY },
  };
}
