import { AppConfig } from '@app/config';
import { Database } from '@app/persistence';
import { Injectable } from '@nestjs/common';
import { LoopService } from '@scheduler/loop-service';
import { SchedulerMetrics } from '@scheduler/metrics/scheduler-metrics';
import { DeploymentScheduler, SchedulingPass } from './deployment-scheduler';

/**
 * Prefect's fast loop (`schedule_recent_deployments`): every `SCHEDULER_RECENT_DEPLOYMENTS_LOOP_SECONDS`, the
 * deployments with an active schedule created or changed within the last interval plus a second are scheduled at
 * once, so a new deployment gets its runs within seconds. A change to a schedule alone counts too (Prefect waits for
 * the main loop there); scheduling twice is harmless, runs are keyed.
 */
@Injectable()
export class RecentDeploymentsSchedulerService extends LoopService {
  constructor(
    private readonly db: Database,
    private readonly scheduler: DeploymentScheduler,
    private readonly config: AppConfig,
    metrics: SchedulerMetrics,
  ) {
    super(RecentDeploymentsSchedulerService.name, {
      enabled: config.scheduler.enabled,
      intervalSeconds: config.scheduler.recentDeploymentsLoopSeconds,
      loop: 'recent_deployments_scheduler',
      metrics,
    });
  }

  async runOnce(now = new Date()): Promise<SchedulingPass> {
    const since = new Date(now.getTime() - (this.config.scheduler.recentDeploymentsLoopSeconds + 1) * 1000);
    const pass = await this.scheduler.scheduleAll((afterId, limit) =>
      this.db.repos.scheduler.recentlyChangedDeployments(since, afterId, limit),
    );
    if (pass.inserted > 0) {
      this.logger.log({
        message: 'scheduled runs of recent deployments',
        runs: pass.inserted,
        deployments: pass.deployments,
      });
    }
    return pass;
  }
}
