import { MetricsRegistry } from '@app/observability';
import { QueueBacklog } from '@app/persistence';
import { Injectable } from '@nestjs/common';

/** The loops' names as the `loop` label shows them. */
export type LoopName =
  | 'dispatcher'
  | 'reconciler'
  | 'foreman'
  | 'late_runs'
  | 'scheduler'
  | 'recent_deployments_scheduler'
  | 'metrics_sampler';

/** Buckets of the due → published latency: the dispatcher wakes on changes, so most of it is milliseconds. */
const DISPATCH_LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300];

/**
 * The scheduler's own metrics, defined here once. Loops report each pass through {@link passDone} (their outcome
 * says what they changed); the dispatcher reports each publication; the backlog gauges are set from one sampled
 * query (see MetricsSamplerService), never at scrape time.
 */
@Injectable()
export class SchedulerMetrics {
  private readonly loopDuration;
  private readonly dispatcherLoopDuration;
  private readonly dispatcherWakeups;
  private readonly published;
  private readonly dispatchLatency;
  private readonly leasesExpired;
  private readonly republished;
  private readonly runsCreated;
  private readonly lateRunsMarked;
  private readonly workersMarkedOffline;
  private readonly leasesOutstanding;
  private readonly busPending;
  private readonly oldestDueAge;
  private readonly lateScheduled;
  /** JetStream pending per queue id, as the reconciler last saw it. */
  private readonly pendingSeen = new Map<string, number>();

  constructor(metrics: MetricsRegistry) {
    this.loopDuration = metrics.histogram('loop_duration_seconds', 'Duration of one pass of a scheduler loop', [
      'loop',
    ]);
    this.dispatcherLoopDuration = metrics.histogram(
      'dispatcher_loop_duration_seconds',
      'Duration of one dispatcher pass (publishing every due run and expired lease)',
    );
    this.dispatcherWakeups = metrics.counter(
      'dispatcher_wakeups_total',
      'Times the dispatcher was woken before its interval (change notices from gateways and schedulers)',
    );
    this.published = metrics.counter('dispatcher_published_runs_total', 'Flow runs the dispatcher put on the bus');
    this.dispatchLatency = metrics.histogram(
      'dispatch_latency_seconds',
      'From when a run became due for the bus (its start time less the dispatch horizon, its creation if later, or its lease expiry) to its publication',
      [],
      DISPATCH_LATENCY_BUCKETS,
    );
    this.leasesExpired = metrics.counter(
      'leases_expired_total',
      'Runs handed to a poller whose lease ran out unclaimed, published again',
    );
    this.republished = metrics.counter(
      'runs_republished_total',
      'Runs found missing from the bus by the reconciler and published again',
    );
    this.runsCreated = metrics.counter('scheduler_runs_created_total', 'Flow runs created from deployment schedules');
    this.lateRunsMarked = metrics.counter('late_runs_marked_total', 'Runs given a Late state by the late-runs service');
    this.workersMarkedOffline = metrics.counter('workers_marked_offline_total', 'Workers the foreman marked OFFLINE');
    this.leasesOutstanding = metrics.gauge(
      'leases_outstanding',
      'Runs handed to an HTTP poller, lease running, not claimed yet (sampled)',
    );
    this.busPending = metrics.gauge(
      'bus_pending_runs',
      "Messages waiting in the queue's JetStream consumer (num_pending, as the reconciler last read it), for queues with runs past their start time",
      ['pool', 'queue'],
    );
    this.oldestDueAge = metrics.gauge(
      'oldest_due_run_age_seconds',
      'Age of the oldest run past its start time and still SCHEDULED: dispatch lag as a user feels it (sampled)',
      ['pool', 'queue'],
    );
    this.lateScheduled = metrics.gauge(
      'late_scheduled_runs',
      'Runs past their start time and still SCHEDULED (Late ones included; sampled)',
      ['pool', 'queue'],
    );
  }

  /** One pass of a loop ended: its duration, and what its outcome says it changed. */
  passDone(loop: LoopName, seconds: number, outcome: unknown): void {
    this.loopDuration.observe({ loop }, seconds);
    if (loop === 'dispatcher') this.dispatcherLoopDuration.observe(seconds);
    if (outcome === undefined) return;
    if (loop === 'scheduler' || loop === 'recent_deployments_scheduler') {
      this.runsCreated.inc((outcome as { inserted: number }).inserted);
    } else if (loop === 'late_runs') {
      this.lateRunsMarked.inc(outcome as number);
    } else if (loop === 'foreman') {
      this.workersMarkedOffline.inc((outcome as { workersOffline: number }).workersOffline);
    }
  }

  dispatcherWoken(): void {
    this.dispatcherWakeups.inc();
  }

  /** A run was published: `dueAt` is when it became due for the bus. */
  runPublished(dueAt: Date | null, publishedAt: number, kind: 'due' | 'expired' | 'republished'): void {
    this.published.inc();
    if (kind === 'expired') this.leasesExpired.inc();
    if (kind === 'republished') this.republished.inc();
    if (dueAt !== null && kind !== 'republished') {
      this.dispatchLatency.observe(Math.max(0, publishedAt - dueAt.getTime()) / 1000);
    }
  }

  /** What the reconciler read from a queue's consumer (null: the consumer was missing). */
  busBacklogSeen(queueId: string, pending: number | null): void {
    this.pendingSeen.set(queueId, pending ?? 0);
  }

  /** Replaces every backlog gauge with one sample: queues no longer behind disappear. */
  backlogSampled(queues: QueueBacklog[], outstandingLeases: number, now: Date): void {
    this.busPending.reset();
    this.oldestDueAge.reset();
    this.lateScheduled.reset();
    for (const queue of queues) {
      const labels = { pool: queue.pool_name, queue: queue.queue_name };
      this.lateScheduled.set(labels, queue.late);
      this.oldestDueAge.set(labels, Math.max(0, now.getTime() - queue.oldest_start.getTime()) / 1000);
      this.busPending.set(labels, this.pendingSeen.get(queue.work_queue_id) ?? 0);
    }
    this.leasesOutstanding.set(outstandingLeases);
  }
}
