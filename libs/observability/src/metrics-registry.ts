import { Database } from '@app/persistence';
import { NatsClient } from '@app/messaging';
import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Every metric of ours starts with this; prom-client's process and Node metrics keep their standard names. */
export const METRIC_PREFIX = 'prefect_dispatch_';

/** Buckets of the latency histograms, in seconds: a poll or claim takes milliseconds, a long poll up to a minute. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * prom-client's process and Node metrics, registered once per process: they describe the process, and each
 * registration starts an event-loop monitor and a GC observer that nothing stops (tests start many apps in one).
 */
let processMetrics: Registry | undefined;
function processRegistry(): Registry {
  if (processMetrics === undefined) {
    processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics });
  }
  return processMetrics;
}

/**
 * The app's Prometheus registry (one per app, not prom-client's global one, so apps started side by side in one
 * process keep their own). It holds the runtime gauges of Postgres and NATS, read at scrape time from counters the
 * clients keep (no query, no round trip); each app's metrics provider adds its own through {@link counter},
 * {@link histogram} and {@link gauge}. A scrape shows the process's metrics first.
 */
@Injectable()
export class MetricsRegistry {
  readonly registry = new Registry();

  constructor(db: Database, nats: NatsClient) {
    processRegistry();
    this.gauge(
      'db_pool_connections_in_use',
      'Postgres connections of the pool checked out by a query or transaction',
      [],
      (g) => {
        const stats = db.poolStats();
        g.set(stats.total - stats.idle);
      },
    );
    this.gauge('db_pool_waiting_requests', 'Queries waiting for a free Postgres connection of the pool', [], (g) =>
      g.set(db.poolStats().waiting),
    );
    this.gauge('nats_connected', '1 while the NATS connection is up, 0 while it is reconnecting', [], (g) =>
      g.set(nats.isConnected ? 1 : 0),
    );
    this.counterFrom('nats_reconnects_total', 'NATS reconnections since the process started', () => nats.reconnects);
  }

  counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    return new Counter({ name: METRIC_PREFIX + name, help, labelNames, registers: [this.registry] });
  }

  histogram<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[] = [],
    buckets: number[] = LATENCY_BUCKETS,
  ): Histogram<L> {
    return new Histogram({ name: METRIC_PREFIX + name, help, labelNames, buckets, registers: [this.registry] });
  }

  /** `collect`, if given, sets the gauge at each scrape; it must be cheap (no query). */
  gauge<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[] = [],
    collect?: (gauge: Gauge<L>) => void,
  ): Gauge<L> {
    return new Gauge({
      name: METRIC_PREFIX + name,
      help,
      labelNames,
      registers: [this.registry],
      ...(collect && {
        collect(this: Gauge<L>) {
          collect(this);
        },
      }),
    });
  }

  /** A counter kept elsewhere (a client's own tally), copied at each scrape. */
  private counterFrom(name: string, help: string, read: () => number): void {
    new Counter({
      name: METRIC_PREFIX + name,
      help,
      registers: [this.registry],
      collect(this: Counter) {
        this.reset();
        this.inc(read());
      },
    });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The text exposition format, as Prometheus scrapes it: the process's metrics, then the app's. */
  async exposition(): Promise<string> {
    const [process, app] = await Promise.all([processRegistry().metrics(), this.registry.metrics()]);
    return process.endsWith('\n') ? process + app : `${process}\n${app}`;
  }
}
