import fc from 'fast-check';
import { freeSlots, SlotBudget, slotBudget, slotsLimited } from './slot-budget';

interface QueueCase {
  priority: number;
  limit: number | null;
  active: number;
  /** Times of the queue's eligible runs. */
  runs: number[];
}

/** Prefect's set semantics (reference 2.5): per-queue earliest runs, then pool cut, then limit, in (priority, time). */
function prefectSelection(queues: QueueCase[], poolLimit: number | null, limit: number): string[] {
  const poolActive = queues.reduce((sum, q) => sum + q.active, 0);
  const candidates = queues.flatMap((q) =>
    [...q.runs]
      .map((time, i) => ({ id: `${q.priority}:${i}`, priority: q.priority, time }))
      .sort((a, b) => a.time - b.time)
      .slice(0, Math.min(1000, freeSlots(q.limit, q.active))),
  );
  candidates.sort((a, b) => a.priority - b.priority || a.time - b.time);
  return candidates
    .slice(0, Math.min(1000, freeSlots(poolLimit, poolActive)))
    .slice(0, limit)
    .map((c) => c.id);
}

/** Our incremental drain: queue by queue in priority order, each taking what the budget allows. */
function incrementalSelection(queues: QueueCase[], poolLimit: number | null, limit: number): string[] {
  const poolActive = queues.reduce((sum, q) => sum + q.active, 0);
  const budget = new SlotBudget(limit, freeSlots(poolLimit, poolActive));
  const taken: string[] = [];
  for (const q of [...queues].sort((a, b) => a.priority - b.priority)) {
    if (budget.exhausted) break;
    const allowance = budget.allowance(freeSlots(q.limit, q.active));
    const runs = [...q.runs]
      .map((time, i) => ({ id: `${q.priority}:${i}`, time }))
      .sort((a, b) => a.time - b.time)
      .slice(0, allowance);
    budget.take(runs.length);
    taken.push(...runs.map((r) => r.id));
  }
  return taken;
}

const queueArb = (priority: number) =>
  fc.record({
    priority: fc.constant(priority),
    limit: fc.option(fc.integer({ min: 0, max: 8 }), { nil: null }),
    active: fc.integer({ min: 0, max: 6 }),
    runs: fc.uniqueArray(fc.integer({ min: 0, max: 10_000 }), { maxLength: 12 }),
  });

describe('SlotBudget', () => {
  it('selects exactly what Prefect selects, for any queues, limits and backlog', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => queueArb(i + 1)))),
        fc.option(fc.integer({ min: 0, max: 20 }), { nil: null }),
        fc.integer({ min: 0, max: 30 }),
        (queues, poolLimit, limit) => {
          // Ties in time have no defined order in Prefect; compare as sets per queue plus the order of queues.
          const ours = incrementalSelection(queues, poolLimit, limit);
          const theirs = prefectSelection(queues, poolLimit, limit);
          expect([...ours].sort()).toEqual([...theirs].sort());
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('never exceeds the pool, the queue or the request limit', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 50 }),
        fc.integer({ min: 0, max: 50 }),
        fc.array(fc.integer({ min: 0, max: 50 })),
        (limit, poolFree, queueFrees) => {
          const budget = new SlotBudget(limit, poolFree);
          let total = 0;
          for (const queueFree of queueFrees) {
            const allowance = budget.allowance(queueFree);
            expect(allowance).toBeLessThanOrEqual(queueFree);
            budget.take(allowance);
            total += allowance;
          }
          expect(total).toBeLessThanOrEqual(Math.min(limit, poolFree));
        },
      ),
    );
  });

  it('treats a null limit as unlimited and never goes negative', () => {
    expect(freeSlots(null, 10_000)).toBe(Number.POSITIVE_INFINITY);
    expect(freeSlots(3, 5)).toBe(0);
    expect(freeSlots(5, 3)).toBe(2);
  });
});

describe('slotBudget', () => {
  const queue = (id: string, concurrency_limit: number | null) => ({ id, concurrency_limit });

  it('counts the pool as the sum of its queues and each queue on its own', () => {
    const held = new Map([
      ['a', 2],
      ['b', 1],
    ]);
    expect(slotBudget(10, queue('pool', 4), held).queueAllowance(queue('a', 3))).toBe(1);
    expect(slotBudget(10, queue('pool', 3), held).queueAllowance(queue('b', null))).toBe(0);
    expect(slotBudget(10, queue('pool', null), held).queueAllowance(queue('c', 2))).toBe(2);
    expect(slotBudget(1, queue('pool', null), new Map()).queueAllowance(queue('c', null))).toBe(1);
  });

  it('needs counting only where the pool or one of the queues has a limit', () => {
    expect(slotsLimited(queue('pool', null), [queue('a', null), queue('b', null)])).toBe(false);
    expect(slotsLimited(queue('pool', 0), [queue('a', null)])).toBe(true);
    expect(slotsLimited(queue('pool', null), [queue('a', null), queue('b', 5)])).toBe(true);
  });
});
