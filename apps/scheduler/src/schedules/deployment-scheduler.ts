import { AppConfig } from '@app/config';
import { DEFAULT_RUN_POLICY, SCHEDULED_RUN_STATE, scheduledRuns, SchedulingWindow } from '@app/domain';
import { DispatchSignals } from '@app/messaging';
import { Database } from '@app/persistence';
import { Injectable, Logger } from '@nestjs/common';

/** Pages scheduled at once: one inserting while the next is computed and sent, on a 2-core machine. */
const PAGES_IN_FLIGHT = 2;

/** Picks the next page of deployment ids after `afterId` (id order), at most `limit`. */
export type DeploymentPage = (afterId: string | null, limit: number) => Promise<string[]>;

/** What one scheduling pass did. */
export interface SchedulingPass {
  deployments: number;
  inserted: number;
}

/**
 * Creates the runs of deployment schedules (Prefect's scheduler service, after selection): page by page, each page
 * in one transaction that locks its deployments (skipping those another replica or an API change holds) and their
 * active schedules, computes every date, and inserts the runs set-based with `ON CONFLICT DO NOTHING` on the
 * idempotency key. New runs wake the dispatcher once committed.
 */
@Injectable()
export class DeploymentScheduler {
  private readonly logger = new Logger(DeploymentScheduler.name);

  constructor(
    private readonly db: Database,
    private readonly signals: DispatchSignals,
    private readonly config: AppConfig,
  ) {}

  get window(): SchedulingWindow {
    return {
      minRuns: this.config.scheduler.minRuns,
      maxRuns: this.config.scheduler.maxRuns,
      minScheduledTimeSeconds: this.config.scheduler.minScheduledTimeSeconds,
      maxScheduledTimeSeconds: this.config.scheduler.maxScheduledTimeSeconds,
    };
  }

  /**
   * Schedules every page `nextPage` yields, until a short page. Pages are disjoint (cursor order), so the next page
   * is selected and scheduled while the previous one is still inserting: Postgres works on two at once.
   */
  async scheduleAll(nextPage: DeploymentPage): Promise<SchedulingPass> {
    const batchSize = this.config.scheduler.deploymentBatchSize;
    const pass: SchedulingPass = { deployments: 0, inserted: 0 };
    const inFlight = new Set<Promise<void>>();
    // A page that fails (a deadlock, a lost connection) is logged and left to the next pass; the others go on.
    const settle = async (page: Promise<SchedulingPass>): Promise<void> => {
      try {
        const { deployments, inserted } = await page;
        pass.deployments += deployments;
        pass.inserted += inserted;
      } catch (error) {
        this.logger.error({ message: 'scheduling a page of deployments failed', error: String(error) });
      }
    };
    try {
      for (let afterId: string | null = null; ;) {
        const ids = await nextPage(afterId, batchSize);
        if (ids.length > 0) {
          const page: Promise<void> = settle(this.schedulePage(ids)).finally(() => inFlight.delete(page));
          inFlight.add(page);
          if (inFlight.size >= PAGES_IN_FLIGHT) await Promise.race(inFlight);
        }
        if (ids.length < batchSize) break;
        afterId = ids[ids.length - 1];
      }
    } finally {
      await Promise.all(inFlight);
    }
    return pass;
  }

  /** Schedules these deployments now, in one transaction. */
  schedulePage(ids: string[]): Promise<SchedulingPass> {
    return this.db.transaction(async (tx) => {
      await tx.scheduler.lockWorkQueuesOf(ids);
      const deployments = await tx.scheduler.lockDeployments(ids);
      const schedules = await tx.scheduler.lockActiveSchedules(deployments.map((deployment) => deployment.id));
      const now = new Date();
      const { templates, runs } = scheduledRuns(deployments, schedules, now, this.window, (deploymentId, error) =>
        this.logger.error({
          message: 'error scheduling deployment',
          deployment_id: deploymentId,
          error: String(error),
        }),
      );
      const state = {
        ...SCHEDULED_RUN_STATE,
        timestamp: now,
        empirical_policy: { ...DEFAULT_RUN_POLICY } as Record<string, unknown>,
      };
      let inserted = 0;
      const size = this.config.scheduler.insertBatchSize;
      for (let from = 0; from < runs.length; from += size) {
        inserted += (await tx.scheduler.insertScheduledRuns(templates, runs.slice(from, from + size), state)).inserted;
      }
      if (inserted > 0) tx.afterCommit(() => this.signals.requestDispatch());
      return { deployments: deployments.length, inserted };
    });
  }
}
