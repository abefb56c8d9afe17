import { DispatchSignals } from '@app/messaging';
import { Injectable, OnApplicationBootstrap } from '@nestjs/common';

interface AnnouncedLease {
  until: number;
  poller: string | null;
}

/**
 * The HTTP leases running in each pool, as every gateway announces them after they commit: a named poller that finds
 * nothing while another holds runs waits for that lease to end rather than for its own next poll (see PollSession).
 */
@Injectable()
export class PoolLeases implements OnApplicationBootstrap {
  private readonly running = new Map<string, AnnouncedLease[]>();

  constructor(private readonly signals: DispatchSignals) {}

  onApplicationBootstrap(): void {
    this.signals.onLeased((poolId, lease) => {
      const until = Date.parse(lease.lease_until);
      if (!Number.isFinite(until)) return;
      this.running.set(poolId, [...this.prune(poolId, Date.now()), { until, poller: lease.poller }]);
    });
  }

  announce(poolId: string, until: Date, poller: string | null): void {
    this.signals.announceLeased(poolId, until, poller);
  }

  /** When the last lease that pollers other than `poller` hold in the pool ends (epoch ms), if one is running. */
  heldByOthersUntil(poolId: string, poller: string, now = Date.now()): number | null {
    const others = this.prune(poolId, now).filter((lease) => lease.poller !== poller);
    return others.length === 0 ? null : Math.max(...others.map((lease) => lease.until));
  }

  /** The pool's leases still running; ended ones are forgotten. */
  private prune(poolId: string, now: number): AnnouncedLease[] {
    const live = (this.running.get(poolId) ?? []).filter((lease) => lease.until > now);
    if (live.length > 0) this.running.set(poolId, live);
    else this.running.delete(poolId);
    return live;
  }
}
