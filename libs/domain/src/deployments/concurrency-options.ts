/** Prefect's `ConcurrencyOptions`: what a run does when its deployment's concurrency slots are all held. */
export interface ConcurrencyOptions {
  collision_strategy: 'ENQUEUE' | 'CANCEL_NEW';
  grace_period_seconds?: number | null;
}
