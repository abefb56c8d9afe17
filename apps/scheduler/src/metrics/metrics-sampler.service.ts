import { AppConfig } from '@app/config';
import { Database } from '@app/persistence';
import { Injectable } from '@nestjs/common';
import { LoopService } from '@scheduler/loop-service';
import { SchedulerMetrics } from './scheduler-metrics';

/**
 * Samples the per-pool and per-queue gauges every `METRICS_SAMPLE_SECONDS` with one grouped query (and one count of
 * outstanding leases), so that a scrape reads numbers in memory and never queries Postgres per pool.
 */
@Injectable()
export class MetricsSamplerService extends LoopService {
  constructor(
    private readonly db: Database,
    private readonly metrics: SchedulerMetrics,
    config: AppConfig,
  ) {
    super(MetricsSamplerService.name, {
      enabled: true,
      intervalSeconds: config.metrics.sampleSeconds,
      loop: 'metrics_sampler',
      metrics,
    });
  }

  async runOnce(): Promise<void> {
    const now = new Date();
    const [queues, leases] = await Promise.all([
      this.db.repos.delivery.backlogPerQueue(now),
      this.db.repos.delivery.outstandingLeases(now),
    ]);
    this.metrics.backlogSampled(queues, leases, now);
  }
}
