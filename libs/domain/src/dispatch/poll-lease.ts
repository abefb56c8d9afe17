/** What sets the length of an HTTP poll's lease (see {@link pollLeaseMs}). */
export interface PollLeaseSettings {
  /** DELIVERY_CLAIM_WINDOW_MS */
  claimWindowMs: number;
  /** DELIVERY_CLAIM_WINDOW_PER_RUN_MS */
  perRunMs: number;
  /** DELIVERY_LEASE_SECONDS */
  maxSeconds: number;
}

/**
 * How long the runs of one poll response stay reserved for its poller. Long enough for a stock worker to claim
 * what it takes: it reads every taken run's deployment before its first claim, so the time grows with the size of
 * the response (measured on a loaded 2-core machine: 1 run claimed 0.5–0.7 s after the poll, 30 runs between 4.1
 * and 9.0 s). No longer, because what it does not take is hidden from every other poller meanwhile, where Prefect's
 * server shows it to the next one.
 */
export function pollLeaseMs(runCount: number, settings: PollLeaseSettings): number {
  return Math.min(settings.claimWindowMs + settings.perRunMs * runCount, settings.maxSeconds * 1000);
}
