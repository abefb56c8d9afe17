import { AppConfig } from '@app/config';
import { Database } from '@app/persistence';
import { Injectable } from '@nestjs/common';
import { LoopService } from '@scheduler/loop-service';
import { SchedulerMetrics } from '@scheduler/metrics/scheduler-metrics';
import { DeploymentScheduler, SchedulingPass } from './deployment-scheduler';

/**
 * Prefect's main scheduler loop (`schedule_deployments`): every `SCHEDULER_LOOP_SECONDS`, the deployments, not
 * paused, with an active schedule that has fewer than `SCHEDULER_MIN_RUNS` future runs or none reaching
 * `SCHEDULER_MIN_SCHEDULED_TIME_SECONDS` ahead, get their runs topped up. Deployments that need nothing cost only
 * their index probes in the selection.
 */
@Injectable()
export class SchedulerService extends LoopService {
  constructor(
    private readonly db: Database,
    private readonly scheduler: DeploymentScheduler,
    private readonly config: AppConfig,
    metrics: SchedulerMetrics,
  ) {
    super(SchedulerService.name, {
      enabled: config.scheduler.enabled,
      intervalSeconds: config.scheduler.loopSeconds,
      loop: 'scheduler',
      metrics,
    });
  }

  async runOnce(now = new Date()): Promise<SchedulingPass> {
    const pass = await this.scheduler.scheduleAll((afterId, limit) =>
      this.db.repos.scheduler.deploymentsNeedingRuns(
        now,
        this.config.scheduler.minRuns,
        this.config.scheduler.minScheduledTimeSeconds,
        afterId,
        limit,
      ),
    );
    if (pass.inserted > 0) {
      this.logger.log({ message: 'scheduled runs', runs: pass.inserted, deployments: pass.deployments });
    }
    return pass;
  }
}
