import fc from 'fast-check';
import { firstFreePriority, QueuePriority, rebalancePriorities } from './queue-priorities';

const apply = (queues: QueuePriority[], changes: Map<string, number>, target?: QueuePriority): Map<string, number> =>
  new Map(queues.map((q) => [q.id, changes.get(q.id) ?? (q.id === target?.id ? target.priority : q.priority)]));

describe('firstFreePriority', () => {
  it.each([
    [[], 1],
    [[1], 2],
    [[1, 2, 3], 4],
    [[1, 3], 2],
    [[2, 5], 1],
    [[1, 2, 99], 3],
    [[3, 1, 2], 4],
  ])('%j -> %i', (priorities, expected) => {
    expect(firstFreePriority(priorities)).toBe(expected);
  });
});

describe('rebalancePriorities', () => {
  // Prefect's TestUpdateWorkQueuePriorities fixture: queues A..E holding 1..5.
  const pool = ['A', 'B', 'C', 'D', 'E'].map((id, i) => ({ id, priority: i + 1 }));

  it('moves a queue into a taken rank and pushes the queues behind it down', () => {
    const final = apply(pool, rebalancePriorities(pool, { id: 'A', priority: 2 }), { id: 'A', priority: 2 });
    expect(Object.fromEntries(final)).toEqual({ A: 2, B: 3, C: 4, D: 5, E: 6 });
  });

  it('a new queue created at priority 1 pushes the default queue to 2', () => {
    const queues = [
      { id: 'default', priority: 1 },
      { id: 'new', priority: 1 },
    ];
    expect(rebalancePriorities(queues, { id: 'new', priority: 1 })).toEqual(new Map([['default', 2]]));
  });

  it('a queue moved above every other one keeps the gap and moves nothing else', () => {
    const queues = [
      { id: 'default', priority: 1 },
      { id: 'C', priority: 2 },
      { id: 'A', priority: 100 },
      { id: 'B', priority: 4 },
    ];
    expect(rebalancePriorities(queues, { id: 'A', priority: 100 })).toEqual(new Map());
  });

  it('keeps gaps when nothing collides (as after deleting a queue)', () => {
    expect(
      rebalancePriorities([
        { id: 'a', priority: 1 },
        { id: 'b', priority: 2 },
        { id: 'c', priority: 4 },
      ]),
    ).toEqual(new Map());
  });

  it('repairs duplicates by bumping the later one', () => {
    expect(
      rebalancePriorities([
        { id: 'a', priority: 1 },
        { id: 'b', priority: 2 },
        { id: 'c', priority: 2 },
        { id: 'd', priority: 3 },
      ]).size,
    ).toBe(2);
  });

  it('ignores a target that is not in the pool', () => {
    expect(rebalancePriorities(pool, { id: 'nope', priority: 1 })).toEqual(new Map());
  });

  const pools = fc
    .uniqueArray(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 12 })
    .map((priorities) => priorities.map((priority, i) => ({ id: `q${i}`, priority })));

  it('keeps priorities unique, gives the target its rank, and touches nothing ranked above it', () => {
    fc.assert(
      fc.property(pools, fc.nat(), fc.integer({ min: 1, max: 50 }), (queues, pick, priority) => {
        const target = { id: queues[pick % queues.length].id, priority };
        const final = apply(queues, rebalancePriorities(queues, target), target);
        expect(new Set(final.values()).size).toBe(queues.length);
        expect(final.get(target.id)).toBe(priority);
        for (const q of queues) {
          if (q.id !== target.id && q.priority < priority) expect(final.get(q.id)).toBe(q.priority);
        }
        const others = queues.filter((q) => q.id !== target.id).sort((a, b) => a.priority - b.priority);
        const after = others.map((q) => final.get(q.id)!);
        expect(after).toEqual([...after].sort((a, b) => a - b));
      }),
    );
  });

  it('changes nothing in a pool whose priorities are already unique', () => {
    fc.assert(fc.property(pools, (queues) => expect(rebalancePriorities(queues).size).toBe(0)));
  });
});
