import { ShutdownDrain } from '@app/config';
import { DispatchSignals } from '@app/messaging';
import { Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';

/**
 * Lets a long poll sleep until runs arrive on its pool's subjects (the dispatcher announces each batch), or until
 * the process starts draining or shuts down.
 */
@Injectable()
export class PoolArrivals implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly waiters = new Map<string, Set<() => void>>();
  /** Set when draining or shutting down: long polls answer with what they have instead of waiting on. */
  closing = false;

  constructor(
    private readonly signals: DispatchSignals,
    private readonly drain: ShutdownDrain,
  ) {}

  onApplicationBootstrap(): void {
    this.signals.onDispatched((poolId) => this.release(poolId));
    this.drain.onDrain(() => this.onModuleDestroy());
  }

  /** Resolves on the next arrival for the pool, after `timeoutMs`, or at shutdown, whichever is first. */
  next(poolId: string, timeoutMs: number): Promise<void> {
    if (this.closing) return Promise.resolve();
    return new Promise((resolve) => {
      const waiters = this.waiters.get(poolId) ?? new Set<() => void>();
      this.waiters.set(poolId, waiters);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(done);
        if (waiters.size === 0) this.waiters.delete(poolId);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, timeoutMs));
      waiters.add(done);
    });
  }

  private release(poolId: string): void {
    [...(this.waiters.get(poolId) ?? [])].forEach((done) => done());
  }

  onModuleDestroy(): void {
    this.closing = true;
    [...this.waiters.keys()].forEach((poolId) => this.release(poolId));
  }
}
