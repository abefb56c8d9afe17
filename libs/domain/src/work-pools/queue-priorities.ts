/** A queue's place in its pool: lower priority values are served first (1 is the highest). */
export interface QueuePriority {
  id: string;
  priority: number;
}

/**
 * The priority Prefect gives a queue created without one: the first rank not taken in the sorted list
 * (1, 2, ...), or one past the highest. Like Prefect, it compares ranks by position, so a pool that
 * already holds duplicates may be handed one of them.
 */
export function firstFreePriority(priorities: readonly number[]): number {
  const sorted = [...priorities].sort((a, b) => a - b);
  const gap = sorted.findIndex((priority, index) => priority !== index + 1);
  if (gap !== -1) return gap + 1;
  return sorted.length === 0 ? 1 : sorted[sorted.length - 1] + 1;
}

/**
 * Prefect's `bulk_update_work_queue_priorities` for at most one queue: the target queue takes its requested
 * priority and is slotted in before the first other queue at or above it; then, walking in order, any queue
 * not strictly above its predecessor is bumped to predecessor + 1. Gaps and order are kept and only the
 * queues that must move do. Returns the queues whose stored priority changes, with their new value.
 */
export function rebalancePriorities(queues: readonly QueuePriority[], target?: QueuePriority): Map<string, number> {
  const moving = target && queues.some((queue) => queue.id === target.id) ? target : undefined;
  const walk = queues
    .filter((queue) => queue.id !== moving?.id)
    .sort((a, b) => a.priority - b.priority)
    .map((queue) => ({ ...queue }));
  const final = new Map<string, number>();
  if (moving) {
    final.set(moving.id, moving.priority);
    const slot = walk.findIndex((queue) => queue.priority >= moving.priority);
    // Above every other queue it cannot collide with anything, so Prefect leaves it out of the walk.
    if (slot !== -1) walk.splice(slot, 0, { ...moving });
  }
  let last = 0;
  for (const queue of walk) {
    last = queue.priority <= last ? last + 1 : queue.priority;
    final.set(queue.id, last);
  }
  const changes = new Map<string, number>();
  for (const queue of queues) {
    const priority = final.get(queue.id) ?? queue.priority;
    if (priority !== queue.priority) changes.set(queue.id, priority);
  }
  return changes;
}
