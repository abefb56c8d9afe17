/** What a pulled message claims to be: one publication of one run. */
export interface RunOffer {
  runId: string;
  stateId: string;
  epoch: number;
}

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

export interface PollWindow {
  after: Date | null;
  before: Date | null;
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
export function judgeOffer(row: OfferedRow | null, offer: RunOffer, queueId: string, window: PollWindow, now: Date): OfferVerdict {
  if (!row || row.work_queue_id !== queueId || row.state_type !== 'SCHEDULED') return 'stale';
  if (row.empirical_policy?.retry_type === 'in_process') return 'stale';
  const recorded = offer.epoch === row.dispatch_epoch && row.dispatched_state_id === row.state_id;
  const unrecorded = offer.epoch > row.dispatch_epoch && offer.stateId === row.state_id;
  if (!recorded && !unrecorded) return 'stale';
  if (row.leased_until && row.leased_until > now) return 'stale';
  return inPollWindow(row.next_scheduled_start_time, window) ? 'deliver' : 'elsewhere';
}

/** Whether a run starting at `time` falls in the poll's `scheduled_after`/`scheduled_before` window (bounds included). */
export function inPollWindow(time: Date | null, window: PollWindow): boolean {
  return time
    ? (window.after === null || time >= window.after) && (window.before === null || time <= window.before)
    : window.after === null && window.before === null;
}

/**
 * Whether a NATS worker holding the message `offer` may claim the run: the poll's test without a window — the run
 * is SCHEDULED, the message is its current publication, and no poller holds a lease on it. A stale message (the run
 * was published again since) or a run leased over HTTP is someone else's.
 */
export function mayClaimOffer(row: OfferedRow, offer: RunOffer, now: Date): boolean {
  return row.work_queue_id !== null && judgeOffer(row, offer, row.work_queue_id, { after: null, before: null }, now) === 'deliver';
}
