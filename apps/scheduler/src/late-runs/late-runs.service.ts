import { AppConfig } from '@app/config';
import { LATE_RUNS_BATCH_SIZE, lateState, orchestrateLateRun } from '@app/domain';
import { FlowRunTransitions, TransitionClient } from '@app/orchestration';
import { Database } from '@app/persistence';
import { Injectable } from '@nestjs/common';
import { LoopService } from '@scheduler/loop-service';
import { SchedulerMetrics } from '@scheduler/metrics/scheduler-metrics';

/** The service proposes states itself: no client, so every rule takes its current-API path. */
const SERVER: TransitionClient = { clientVersion: null, apiVersion: null };

/** Runs marked at once: enough to work through a backlog, few enough to leave connections to the rest. */
const CONCURRENT_MARKS = 4;

/**
 * Prefect's late-runs service: a run still in its `Scheduled` state `LATE_RUNS_AFTER_SECONDS` after its start time is
 * proposed a `Late` state (SCHEDULED, same scheduled time) through the late-runs policy, committed like any other
 * transition. It stays SCHEDULED and keeps its delivery: polls still return it, a poller holding it keeps its lease,
 * and its message on the bus still stands for it.
 */
@Injectable()
export class LateRunsService extends LoopService {
  constructor(
    private readonly db: Database,
    private readonly transitions: FlowRunTransitions,
    private readonly config: AppConfig,
    metrics: SchedulerMetrics,
  ) {
    super(LateRunsService.name, {
      enabled: config.lateRuns.enabled,
      intervalSeconds: config.lateRuns.loopSeconds,
      loop: 'late_runs',
      metrics,
    });
  }

  /**
   * One pass at `now`, batch after batch; resolves to how many runs became Late. Each run is marked in a transaction
   * of its own, as Prefect marks each in a task of its own: a claim waits for one run's mark, never for a batch's.
   */
  async runOnce(now = new Date()): Promise<number> {
    const startedBefore = new Date(now.getTime() - this.config.lateRuns.afterSeconds * 1000);
    let marked = 0;
    for (;;) {
      const overdue = await this.db.repos.lateRuns.findOverdue(startedBefore, LATE_RUNS_BATCH_SIZE);
      const pending = [...overdue];
      let markedNow = 0;
      const markNext = async (): Promise<void> => {
        for (let id = pending.shift(); id !== undefined; id = pending.shift()) {
          try {
            if (await this.markLate(id, startedBefore)) markedNow += 1;
          } catch (error) {
            // One run that cannot be marked (it will be tried again next pass) must not hold up the others.
            this.logger.warn(`marking run ${id} late failed: ${String(error)}`);
          }
        }
      };
      await Promise.all(Array.from({ length: CONCURRENT_MARKS }, markNext));
      marked += markedNow;
      // A full batch means more may wait; one where nothing changed would only be found again.
      if (overdue.length < LATE_RUNS_BATCH_SIZE || markedNow === 0) break;
    }
    if (marked > 0) this.logger.log({ message: 'marked runs late', runs: marked });
    return marked;
  }

  /** Whether the run became Late; false when, once locked, it no longer needed to. */
  private markLate(id: string, startedBefore: Date): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const run = await tx.lateRuns.lockIfOverdue(id, startedBefore);
      if (!run) return false;
      const outcome = await this.transitions.transition(tx, run, lateState(run.next_scheduled_start_time), {
        client: SERVER,
        orchestrate: orchestrateLateRun,
      });
      return outcome.written;
    });
  }
}
