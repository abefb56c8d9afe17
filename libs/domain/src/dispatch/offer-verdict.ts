import { inTimeWindow, RunPublication, TimeWindow } from './publication';

/** The row fields that decide whether an offered run may be handed out now. */
export interface OfferedRow {
  state_id: string | null;
  state_type: string | null;
  work_queue_id: string | null;
  dispatched_state_id: string | null;
  dispatch_epoch: number;
  leased_until: Date | null;
  next_scheduled_start_time: Date | null;
  empirical_policy: { retry_type?: string | null } | null;
}

/**
 * `deliver`: hand it out. `elsewhere`: valid, but outside this poll's window — back on the bus for other
 * pollers. `stale`: the message no longer stands for a deliverable run; drop it.
 */
export type OfferVerdict = 'deliver' | 'elsewhere' | 'stale';

/**
 * Whether a message pulled from a queue's subject may be handed to this poll. The row decides (I1): the run
 * must still be SCHEDULED in this queue, not an in-process retry, not leased to another holder, and the message
 * must be its current publication — the recorded one, or a newer one of its current state whose recording was
 * lost (a dispatcher that died between publishing and recording).
 */
export function judgeOffer(
  row: OfferedRow | null,
  offer: RunPublication,
  queueId: string,
  window: TimeWindow,
  now: Date,
): OfferVerdict {
  if (!row || !scheduledIn(row, queueId)) return 'stale';
  if (row.empirical_policy?.retry_type === 'in_process') return 'stale';
  const unrecorded = offer.epoch > row.dispatch_epoch && offer.stateId === row.state_id;
  if (!isRecorded(row, offer) && !unrecorded) return 'stale';
  if (row.leased_until && row.leased_until > now) return 'stale';
  return inTimeWindow(row.next_scheduled_start_time, window) ? 'deliver' : 'elsewhere';
}

/**
 * Whether the row, SCHEDULED in `queueId`, still counts `offer` as its current publication: a message judged stale
 * that the row still counts (an in-process retry, say) must be forgotten there, or the run is never published again.
 */
export function recordsPublication(row: OfferedRow, offer: RunPublication, queueId: string): boolean {
  return scheduledIn(row, queueId) && isRecorded(row, offer);
}

function scheduledIn(row: OfferedRow, queueId: string): boolean {
  return row.work_queue_id === queueId && row.state_type === 'SCHEDULED';
}

function isRecorded(row: OfferedRow, offer: RunPublication): boolean {
  return offer.epoch === row.dispatch_epoch && row.dispatched_state_id === row.state_id;
}

/**
 * Whether a NATS worker holding the message `offer` may claim the run: the poll's test without a window — the run
 * is SCHEDULED, the message is its current publication, and no poller holds a lease on it. A stale message (the run
 * was published again since) or a run leased over HTTP is someone else's.
 */
export function mayClaimOffer(row: OfferedRow, offer: RunPublication, now: Date): boolean {
  return (
    row.work_queue_id !== null &&
    judgeOffer(row, offer, row.work_queue_id, { after: null, before: null }, now) === 'deliver'
  );
}
