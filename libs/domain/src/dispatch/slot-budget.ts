/** Free slots under a concurrency limit; `null` means unlimited. Never negative. */
export function freeSlots(limit: number | null, active: number): number {
  return limit === null ? Number.POSITIVE_INFINITY : Math.max(0, limit - active);
}

/**
 * The slot arithmetic of one poll, applied queue by queue in priority order as runs are actually found:
 * a queue may take at most its own free slots, the pool's remaining free slots and the request's remaining
 * limit. Taking runs from a higher-priority queue first is what gives it the pool's slots first (Prefect's rule).
 */
export class SlotBudget {
  private remaining: number;
  private poolFree: number;

  constructor(limit: number, poolFree: number) {
    this.remaining = limit;
    this.poolFree = poolFree;
  }

  /** How many runs the next queue (with `queueFree` free slots) may contribute. */
  allowance(queueFree: number): number {
    return Math.max(0, Math.min(this.remaining, this.poolFree, queueFree));
  }

  take(count: number): void {
    this.remaining -= count;
    this.poolFree -= count;
  }

  get exhausted(): boolean {
    return this.remaining <= 0 || this.poolFree <= 0;
  }
}
