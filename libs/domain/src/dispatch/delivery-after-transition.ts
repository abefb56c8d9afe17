/** The delivery bookkeeping of a run, as it stood before a transition. */
export interface DeliveredRun {
  state_type: string | null;
  state_id: string | null;
  next_scheduled_start_time: Date | null;
  dispatched_state_id: string | null;
}

/** What a committed state does to the run's delivery columns. */
export type DeliveryChanges =
  { leased_until: null; offered_to: null } | { dispatched_state_id: string } | Record<string, never>;

/**
 * A new state ends the run's delivery: its lease (a claim consumes it) and whom it was offered to, and its publication, since the state id no
 * longer matches (a rescheduled run is published afresh). Except when the new state only renames the SCHEDULED
 * state the run is delivered in, due at the same time — `Late`: whoever holds the run keeps its lease, and the
 * message already on the bus stays its publication, so the run never reaches a second holder.
 */
export function deliveryAfterTransition(
  run: DeliveredRun,
  newState: { id: string; type: string },
  nextScheduledStartTime: Date | null,
): DeliveryChanges {
  const sameTime = run.next_scheduled_start_time?.getTime() === nextScheduledStartTime?.getTime();
  if (run.state_type !== 'SCHEDULED' || newState.type !== 'SCHEDULED' || !sameTime) {
    return { leased_until: null, offered_to: null };
  }
  return run.dispatched_state_id !== null && run.dispatched_state_id === run.state_id
    ? { dispatched_state_id: newState.id }
    : {};
}
