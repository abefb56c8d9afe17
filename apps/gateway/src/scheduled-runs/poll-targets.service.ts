import { DispatchSignals } from '@app/messaging';
import { Database, PollTarget } from '@app/persistence';
import { Injectable, OnApplicationBootstrap } from '@nestjs/common';

/**
 * How long a pool read by a poll is reused. It outlives the stock worker's 10 s poll interval, so an idle pool's
 * polls read nothing from Postgres; pauses, resumes and deletions made through any gateway are announced and
 * forgotten at once, so this bounds only what a lost announcement costs.
 */
const CACHE_TTL_MS = 30_000;

/** A pool and its queues as a poll last read them, and whether that read is the cache's or was just made. */
export interface ResolvedTarget extends PollTarget {
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

  async get(poolName: string, options: { fresh: boolean }): Promise<ResolvedTarget | null> {
    const entry = this.cached.get(poolName);
    if (!options.fresh && entry && entry.expires > Date.now()) return { ...entry.target, fresh: false };
    const target = await this.db.repos.delivery.pollTarget(poolName);
    if (target) this.cached.set(poolName, { target, expires: Date.now() + CACHE_TTL_MS });
    else this.cached.delete(poolName);
    return target && { ...target, fresh: true };
  }

  private forget(poolId: string): void {
    for (const [name, entry] of this.cached) if (entry.target.pool.id === poolId) this.cached.delete(name);
  }
}
