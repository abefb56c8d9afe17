import { notFound } from '@app/domain';
import { DispatchSignals } from '@app/messaging';
import { Database, PollPool, PollQueue, PollTarget } from '@app/persistence';
import { Injectable, OnApplicationBootstrap } from '@nestjs/common';

/**
 * How long a pool read by a poll is reused. It outlives the stock worker's 10 s poll interval, so an idle pool's
 * polls read nothing from Postgres; pauses, resumes and deletions made through any gateway are announced and
 * forgotten at once, so this bounds only what a lost announcement costs.
 */
const CACHE_TTL_MS = 30_000;

/** The pool a poll names, all its queues, the ones it polls, and whether that read is the cache's or was just made. */
export interface ResolvedTarget {
  pool: PollPool;
  poolQueues: PollQueue[];
  polled: PollQueue[];
  fresh: boolean;
}

/**
 * The pools polls read, cached so that an empty poll costs no Postgres round trip. A cached pool only ever
 * decides that a poll may look at the bus: whatever a poll then hands out is decided on a fresh read and the run
 * rows. A pool that changed since is harmless: a pause it missed finds the bus purged (and the lease checks the
 * pause again); a resume it missed is never missed, because a paused pool or queue is always read afresh; runs on
 * a queue it does not know yet are announced by the dispatcher, which drops the pool from the cache.
 */
@Injectable()
export class PollTargets implements OnApplicationBootstrap {
  private readonly cached = new Map<string, { target: PollTarget; expires: number }>();

  constructor(
    private readonly db: Database,
    private readonly signals: DispatchSignals,
  ) {}

  onApplicationBootstrap(): void {
    this.signals.onDispatched((poolId) => this.forget(poolId));
    this.signals.onPoolChanged((poolId) => this.forget(poolId));
  }

  /**
   * The pool and the queues the poll names (all of them when it names none), with Prefect's 404s. A cached read
   * that would refuse the poll (a pool or queue missing or paused) is made again, fresh.
   */
  async resolve(poolName: string, queueNames: string[], fresh = false): Promise<ResolvedTarget> {
    const found = await this.get(poolName, fresh);
    const target = found && select(found, queueNames);
    if (found && !found.fresh && (!target || target.pool.is_paused || target.polled.some((queue) => queue.is_paused))) {
      return this.resolve(poolName, queueNames, true);
    }
    if (!found) throw notFound(`Work pool "${poolName}" not found.`);
    if (!target) {
      throw notFound(
        `Work pool queue '${poolName}/${queueNames.find((name) => !found.queues.some((queue) => queue.name === name))}' not found.`,
      );
    }
    return target;
  }

  private async get(poolName: string, fresh: boolean): Promise<(PollTarget & { fresh: boolean }) | null> {
    const entry = this.cached.get(poolName);
    if (!fresh && entry && entry.expires > Date.now()) return { ...entry.target, fresh: false };
    const target = await this.db.repos.delivery.pollTarget(poolName);
    if (target) this.cached.set(poolName, { target, expires: Date.now() + CACHE_TTL_MS });
    else this.cached.delete(poolName);
    return target && { ...target, fresh: true };
  }

  private forget(poolId: string): void {
    for (const [name, entry] of this.cached) if (entry.target.pool.id === poolId) this.cached.delete(name);
  }
}

/** The queues a poll names, in the order it names them (all of the pool's when it names none); null if one is missing. */
function select(found: PollTarget & { fresh: boolean }, queueNames: string[]): ResolvedTarget | null {
  const polled: PollQueue[] = [];
  for (const name of queueNames) {
    const queue = found.queues.find((candidate) => candidate.name === name);
    if (!queue) return null;
    polled.push(queue);
  }
  return {
    pool: found.pool,
    poolQueues: found.queues,
    polled: queueNames.length > 0 ? polled : found.queues,
    fresh: found.fresh,
  };
}
