import { Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { LoopName, SchedulerMetrics } from './metrics/scheduler-metrics';

export interface LoopSettings {
  enabled: boolean;
  intervalSeconds: number;
  /** The loop's `loop` label; every pass is reported to `metrics` with its duration and outcome. */
  loop: LoopName;
  metrics: SchedulerMetrics;
  /** How soon a failed pass is tried again; by default, an interval after it began. */
  retryAfterErrorSeconds?: number;
}

/**
 * A background pass repeated on a fixed interval (Prefect's `LoopService`): the first runs at start, each next one an
 * interval after the previous began (at once if that one overran). A failed pass is logged and the loop goes on;
 * shutdown waits for the pass in flight. Every decision comes from the database, so replicas and restarts agree.
 */
export abstract class LoopService implements OnApplicationBootstrap, OnApplicationShutdown {
  protected readonly logger: Logger;
  private running = false;
  private loop?: Promise<void>;
  private stopWaiting?: () => void;
  private passRequested = false;

  constructor(
    name: string,
    private readonly settings: LoopSettings,
  ) {
    this.logger = new Logger(name);
  }

  /** One pass at `now`. */
  abstract runOnce(now?: Date): Promise<unknown>;

  /** When the next pass is due (epoch ms) after one that began at `startedAt`; a loop that knows better says so. */
  protected nextPassAt(startedAt: number, _outcome: unknown): number {
    return startedAt + this.settings.intervalSeconds * 1000;
  }

  onApplicationBootstrap(): void {
    if (!this.settings.enabled) return;
    this.running = true;
    this.loop = this.run();
  }

  async onApplicationShutdown(): Promise<void> {
    this.running = false;
    this.stopWaiting?.();
    await this.loop;
  }

  /** Starts the next pass now rather than at the end of the interval (after the one in flight, if any). */
  protected runSoon(): void {
    this.passRequested = true;
    this.stopWaiting?.();
  }

  private async run(): Promise<void> {
    while (this.running) {
      this.passRequested = false;
      const startedAt = Date.now();
      const started = performance.now();
      let nextAt: number;
      try {
        const outcome = await this.runOnce();
        this.settings.metrics.passDone(this.settings.loop, (performance.now() - started) / 1000, outcome);
        nextAt = this.nextPassAt(startedAt, outcome);
      } catch (error) {
        this.settings.metrics.passDone(this.settings.loop, (performance.now() - started) / 1000, undefined);
        this.logger.error(`pass failed: ${String(error)}`);
        nextAt = startedAt + (this.settings.retryAfterErrorSeconds ?? this.settings.intervalSeconds) * 1000;
      }
      await this.waitUntil(nextAt);
    }
  }

  private waitUntil(at: number): Promise<void> {
    if (!this.running || this.passRequested) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.stopWaiting?.(), Math.max(0, at - Date.now()));
      this.stopWaiting = () => {
        clearTimeout(timer);
        this.stopWaiting = undefined;
        resolve();
      };
    });
  }
}
