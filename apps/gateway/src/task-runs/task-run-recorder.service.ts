import { PrefectEvent } from '@app/contracts';
import {
  generateRunName,
  planTaskRunRecording,
  stateRowFor,
  TaskRunFromEvent,
  taskRunFromEvent,
  TaskRunRecording,
  UnrecordableTaskRunEventError,
} from '@app/domain';
import { Database } from '@app/persistence';
import { Injectable, Logger } from '@nestjs/common';
import { isIntegrityViolation } from '@gateway/http/prefect-exception.filter';

/** Inserts that lost a race to a concurrent insert of the same task run, before the event is weighed again. */
const MAX_INSERT_RACES = 3;

/**
 * Prefect's task-run recorder: Prefect 3's engine runs `@task` calls on the client and reports each state change
 * only as a `prefect.task-run.<state>` event; the task run and its state history are written from those.
 */
@Injectable()
export class TaskRunRecorder {
  private readonly logger = new Logger('task-run-recorder');

  constructor(private readonly db: Database) {}

  /**
   * Writes the event's task run and state in one transaction (see {@link planTaskRunRecording}); idempotent, so a
   * resent event changes nothing. An event that describes no task run, or that breaks a constraint (a flow run
   * this server does not know), is dropped with a warning, as Prefect drops it; resolves to null then.
   */
  async record(event: PrefectEvent): Promise<TaskRunRecording | null> {
    let recorded: TaskRunFromEvent;
    try {
      recorded = taskRunFromEvent(event, new Date(), generateRunName);
    } catch (error) {
      if (!(error instanceof UnrecordableTaskRunEventError)) throw error;
      this.logger.warn({
        message: 'task-run event not recorded',
        event_id: event.id,
        event: event.event,
        reason: error.message,
      });
      return null;
    }
    try {
      return await this.db.transaction(async (tx) => {
        const { columns } = recorded;
        for (let attempt = 1; ; attempt++) {
          const stored = await tx.taskRuns.lockVersions(
            columns.id,
            columns.flow_run_id,
            columns.task_key,
            columns.dynamic_key,
          );
          const plan = planTaskRunRecording(columns, stored);
          if (
            plan.write === 'insert' &&
            !(await tx.taskRuns.insertFromEvent({ ...columns, name: recorded.nameIfNew }))
          ) {
            if (attempt < MAX_INSERT_RACES) continue;
            throw new Error(`task run ${columns.id}: inserted concurrently, yet not found`);
          }
          if (plan.write === 'update') await tx.taskRuns.updateFromEvent(plan.taskRunId, columns);
          await tx.taskRunStates.insertFromEventIfAbsent(stateRowFor(recorded, plan.taskRunId));
          return plan;
        }
      });
    } catch (error) {
      if (!isIntegrityViolation(error)) throw error;
      this.logger.warn({
        message: 'task-run event conflicts with stored data, discarded',
        event_id: event.id,
        error: String(error),
      });
      return null;
    }
  }
}
