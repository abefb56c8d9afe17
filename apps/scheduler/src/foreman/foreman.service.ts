import { AppConfig } from '@app/config';
import { deploymentStatusEvent, workPoolStatusEvent, workQueueStatusEvent } from '@app/domain';
import { EventPublisher } from '@app/messaging';
import { Database } from '@app/persistence';
import { Injectable } from '@nestjs/common';
import { LoopService } from '@scheduler/loop-service';
import { SchedulerMetrics } from '@scheduler/metrics/scheduler-metrics';

/** What one foreman pass changed. */
export interface ForemanPass {
  workersOffline: number;
  poolsNotReady: number;
  deploymentsNotReady: number;
  workQueuesNotReady: number;
}

/**
 * Prefect's foreman: workers that stopped heart-beating go OFFLINE, READY pools left without an ONLINE worker,
 * and READY deployments and queues nobody polls any more, become NOT_READY, each status change with its event
 * (workers have none). Each sweep is one statement that changes and returns only what still needed the change, so
 * replicas running at once emit every event once.
 */
@Injectable()
export class ForemanService extends LoopService {
  constructor(
    private readonly db: Database,
    private readonly events: EventPublisher,
    private readonly config: AppConfig,
    metrics: SchedulerMetrics,
  ) {
    super(ForemanService.name, {
      enabled: config.foreman.enabled,
      intervalSeconds: config.foreman.loopSeconds,
      loop: 'foreman',
      metrics,
    });
  }

  /** One pass at `now`, in Prefect's order (a pool's workers are settled before the pool is). */
  async runOnce(now = new Date()): Promise<ForemanPass> {
    const { foreman } = this.db.repos;
    const workersOffline = await foreman.markSilentWorkersOffline(
      now,
      this.config.foreman.fallbackHeartbeatIntervalSeconds,
      this.config.foreman.inactivityHeartbeatMultiple,
    );

    const pools = await foreman.markPoolsWithoutOnlineWorkersNotReady(now);
    this.events.publish(pools.map((pool) => workPoolStatusEvent(pool, pool.previous)));

    const deployments = await foreman.markStaleDeploymentsNotReady(
      this.secondsBefore(now, this.config.foreman.deploymentLastPolledTimeoutSeconds),
    );
    this.events.publish(
      deployments.map((deployment) => deploymentStatusEvent('NOT_READY', deployment, deployment.pool, now)),
    );

    const queues = await foreman.markStaleWorkQueuesNotReady(
      this.secondsBefore(now, this.config.foreman.workQueueLastPolledTimeoutSeconds),
      now,
    );
    this.events.publish(queues.map((queue) => workQueueStatusEvent('NOT_READY', queue, queue.pool, now)));

    const pass = {
      workersOffline,
      poolsNotReady: pools.length,
      deploymentsNotReady: deployments.length,
      workQueuesNotReady: queues.length,
    };
    if (Object.values(pass).some((count) => count > 0)) {
      this.logger.log({ message: 'foreman marked statuses', ...pass });
    }
    return pass;
  }

  private secondsBefore(now: Date, seconds: number): Date {
    return new Date(now.getTime() - seconds * 1000);
  }
}
