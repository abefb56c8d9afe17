/** Free slots under a concurrency limit; `null` means unlimited. Never negative. */
export function freeSlots(limit: number | null, active: number): number {
  return limit === null ? Number.POSITIVE_INFINITY : Math.max(0, limit - active);
}

/** A pool or queue as far as its slots go. */
export interface SlotHolder {
  id: string;
  concurrency_limit: number | null;
}

/**
 * The free slots of a pool and its queues, for a poll or a claim alike: `held` counts the slots held in each of the
 * pool's unpaused queues (its runs in `SLOT_OCCUPYING_STATE_TYPES` and its unexpired leases); the pool's
 * slots are the sum. `limit` caps what the caller takes in all.
 */
export function slotBudget(limit: number, pool: SlotHolder, held: ReadonlyMap<string, number>): SlotBudget {
  const poolHeld = [...held.values()].reduce((sum, count) => sum + count, 0);
  return new SlotBudget(limit, freeSlots(pool.concurrency_limit, poolHeld), held);
}

/** Whether slots need counting at all: only a limit on the pool or one of these queues can refuse a run. */
export function slotsLimited(pool: SlotHolder, queues: readonly SlotHolder[]): boolean {
  return pool.concurrency_limit !== null || queues.some((queue) => queue.concurrency_limit !== null);
}

/**
 * The slot arithmetic of one poll, applied queue by queue in priority order as runs are actually found:
 * a queue may take at most its own free slots, the pool's remaining free slots and the request's remaining
 * limit. Taking runs from a higher-priority queue first is what gives it the pool's slots first (Prefect's rule).
 */
export class SlotBudget {
  private remaining: number;
  private poolFree: number;

  constructor(
    limit: number,
    poolFree: number,
    private readonly held: ReadonlyMap<string, number> = new Map(),
  ) {
    this.remaining = limit;
    this.poolFree = poolFree;
  }

  /** How many runs `queue` may contribute, with the slots held in it as counted for {@link slotBudget}. */
  queueAllowance(queue: SlotHolder): number {
    return this.allowance(freeSlots(queue.concurrency_limit, this.held.get(queue.id) ?? 0));
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
