/**
 * One publication of a run on the bus: the run, the state it was published in, and a re-publish epoch. A message's
 * `Nats-Msg-Id` carries it; the row records the current one (`dispatched_state_id`, `dispatch_epoch`).
 */
export interface RunPublication {
  runId: string;
  stateId: string;
  epoch: number;
}

/** A poll's time window on `next_scheduled_start_time`, both ends inclusive; `null` leaves an end open. */
export interface TimeWindow {
  after: Date | null;
  before: Date | null;
}

/** Whether a run starting at `time` falls in the window (bounds included); a run without a time only in an open one. */
export function inTimeWindow(time: Date | null, window: TimeWindow): boolean {
  return time
    ? (window.after === null || time >= window.after) && (window.before === null || time <= window.before)
    : window.after === null && window.before === null;
}
