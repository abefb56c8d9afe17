import type { ScheduledRunRow, ScheduledRunTemplateRow, SchedulerDeployment, SchedulerSchedule } from '@app/domain';
import { EntityManager } from 'typeorm';

/** The state every new run starts in, and the run's policy. */
export interface ScheduledRunState {
  type: string;
  name: string;
  message: string;
  timestamp: Date;
  empirical_policy: Record<string, unknown>;
}

/**
 * A schedule's runs the scheduler counts (Prefect's per-schedule subqueries): auto-scheduled, still SCHEDULED, due
 * at or after `$1`, created by this schedule. `auto_scheduled = true` (not `IS TRUE`) lets the partial index on
 * `(deployment_id, auto_scheduled, next_scheduled_start_time) WHERE state_type = 'SCHEDULED'` serve it.
 */
const FUTURE_RUNS_OF_SCHEDULE = `fr.deployment_id = s.deployment_id AND fr.state_type = 'SCHEDULED' AND fr.auto_scheduled = true
  AND fr.next_scheduled_start_time >= $1 AND fr.created_by->>'id' = s.id::text`;

/** The scheduler service's queries: which deployments to schedule, their rows locked, and the set-based insert. */
export class SchedulerRepository {
  constructor(private readonly manager: EntityManager) {}

  /**
   * Up to `limit` deployments after `afterId` (id order), not paused, with an active schedule that has fewer than
   * `minRuns` future runs or whose last one is due before `now + minScheduledTimeSeconds` (Prefect's
   * `_get_select_deployments_to_schedule_query`). Written so that a deployment needing nothing costs a few index
   * probes: the count stops at `minRuns`, and "the last run is due before T" is "there are runs, none due at or after
   * T" (a maximum over every future run would read all of them).
   */
  async deploymentsNeedingRuns(
    now: Date,
    minRuns: number,
    minScheduledTimeSeconds: number,
    afterId: string | null,
    limit: number,
  ): Promise<string[]> {
    const rows: { id: string }[] = await this.manager.query(
      `SELECT d.id FROM deployment d
        WHERE d.paused IS NOT TRUE AND ($4::uuid IS NULL OR d.id > $4)
          AND EXISTS (
            SELECT 1 FROM deployment_schedule s
             WHERE s.deployment_id = d.id AND s.active IS TRUE
               AND ((SELECT count(*) FROM (SELECT 1 FROM flow_run fr WHERE ${FUTURE_RUNS_OF_SCHEDULE} LIMIT $2) AS enough) < $2
                    OR (NOT EXISTS (SELECT 1 FROM flow_run fr WHERE ${FUTURE_RUNS_OF_SCHEDULE}
                                       AND fr.next_scheduled_start_time >= $1::timestamptz + $3 * interval '1 second')
                        AND EXISTS (SELECT 1 FROM flow_run fr WHERE ${FUTURE_RUNS_OF_SCHEDULE}))))
        ORDER BY d.id LIMIT $5`,
      [now, minRuns, minScheduledTimeSeconds, afterId, limit],
    );
    return rows.map((row) => row.id);
  }

  /**
   * Up to `limit` deployments after `afterId`, not paused, with an active schedule, changed at or after `since`
   * (Prefect's recent-deployments query); a deployment whose schedule alone changed counts too.
   */
  async recentlyChangedDeployments(since: Date, afterId: string | null, limit: number): Promise<string[]> {
    const rows: { id: string }[] = await this.manager.query(
      `SELECT d.id FROM deployment d
        WHERE d.paused IS NOT TRUE AND ($2::uuid IS NULL OR d.id > $2)
          AND EXISTS (SELECT 1 FROM deployment_schedule s WHERE s.deployment_id = d.id AND s.active IS TRUE
                       AND (d.updated >= $1 OR s.updated >= $1))
        ORDER BY d.id LIMIT $3`,
      [since, afterId, limit],
    );
    return rows.map((row) => row.id);
  }

  /**
   * Share-locks the work queues of these deployments (what the runs' foreign keys will take anyway), before the
   * deployments: poll bookkeeping locks a queue and then its deployments, so taking them in the same order keeps the
   * two from deadlocking.
   */
  async lockWorkQueuesOf(deploymentIds: string[]): Promise<void> {
    if (deploymentIds.length === 0) return;
    await this.manager.query(
      `SELECT 1 FROM work_queue WHERE id IN (SELECT work_queue_id FROM deployment WHERE id = ANY($1)) ORDER BY id FOR KEY SHARE`,
      [deploymentIds],
    );
  }

  /**
   * Locks these deployments, still unpaused, for the rest of the transaction, skipping any another transaction holds
   * (another scheduler replica scheduling them, or an API change about to delete their future runs): each deployment
   * is scheduled by one replica at a time, and never from values a concurrent change is replacing.
   */
  lockDeployments(ids: string[]): Promise<SchedulerDeployment[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.manager.query(
      `SELECT id, flow_id, version, work_queue_name, work_queue_id, parameters, infrastructure_document_id, tags, labels
         FROM deployment WHERE id = ANY($1) AND paused IS NOT TRUE
        ORDER BY id FOR NO KEY UPDATE SKIP LOCKED`,
      [ids],
    );
  }

  /** The active schedules of these deployments, share-locked so that an update or delete waits for this transaction. */
  lockActiveSchedules(deploymentIds: string[]): Promise<SchedulerSchedule[]> {
    if (deploymentIds.length === 0) return Promise.resolve([]);
    return this.manager.query(
      `SELECT id, deployment_id, schedule, parameters, slug FROM deployment_schedule
        WHERE deployment_id = ANY($1) AND active IS TRUE
        ORDER BY deployment_id, updated DESC FOR SHARE`,
      [deploymentIds],
    );
  }

  /**
   * Inserts the runs whose `(flow_id, idempotency_key)` is new, each with its first state row and state columns, in
   * one statement (Prefect's `_insert_scheduled_flow_runs`). Resolves to how many were inserted and the earliest
   * start time among them. A state row stores only its scheduled time: the other details are Prefect's defaults,
   * which readers fill in, and leaving them out makes the row a third of the size.
   */
  async insertScheduledRuns(
    templates: ScheduledRunTemplateRow[],
    runs: ScheduledRunRow[],
    state: ScheduledRunState,
  ): Promise<{ inserted: number; earliest: Date | null }> {
    if (runs.length === 0) return { inserted: 0, earliest: null };
    const column = <K extends keyof ScheduledRunTemplateRow>(key: K) => templates.map((template) => template[key]);
    const json = <K extends keyof ScheduledRunTemplateRow>(key: K) =>
      templates.map((template) => JSON.stringify(template[key]));
    const [row]: { inserted: number; earliest: Date | null }[] = await this.manager.query(
      `WITH template AS (
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::varchar[], $4::varchar[], $5::uuid[], $6::jsonb[], $7::uuid[],
                              $8::jsonb[], $9::jsonb[], $10::jsonb[])
           WITH ORDINALITY AS t(flow_id, deployment_id, deployment_version, work_queue_name, work_queue_id, parameters,
                                infrastructure_document_id, tags, labels, created_by, n)
       ), run AS (
         SELECT * FROM unnest($11::int[], $12::varchar[], $13::varchar[], $14::timestamptz[])
           WITH ORDINALITY AS r(template, name, idempotency_key, scheduled_time, n)
       ), inserted AS (
         INSERT INTO flow_run (id, state_id, name, flow_id, deployment_id, deployment_version, work_queue_name, work_queue_id,
                               parameters, infrastructure_document_id, idempotency_key, tags, labels, auto_scheduled, created_by,
                               empirical_policy, state_type, state_name, next_scheduled_start_time, expected_start_time)
         SELECT gen_random_uuid(), gen_random_uuid(), r.name, t.flow_id, t.deployment_id, t.deployment_version, t.work_queue_name,
                t.work_queue_id, t.parameters, t.infrastructure_document_id, r.idempotency_key, t.tags, t.labels, true, t.created_by,
                $15::jsonb, $16, $17, r.scheduled_time, r.scheduled_time
           FROM run r JOIN template t ON t.n = r.template + 1
          ORDER BY r.n
         ON CONFLICT (flow_id, idempotency_key) DO NOTHING
         RETURNING id, state_id, next_scheduled_start_time
       ), states AS (
         INSERT INTO flow_run_state (id, flow_run_id, type, name, timestamp, message, state_details)
         SELECT i.state_id, i.id, $16, $17, $18, $19,
                jsonb_build_object('scheduled_time',
                  to_char(i.next_scheduled_start_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
           FROM inserted i
       )
       SELECT count(*)::int AS inserted, min(next_scheduled_start_time) AS earliest FROM inserted`,
      [
        column('flow_id'),
        column('deployment_id'),
        column('deployment_version'),
        column('work_queue_name'),
        column('work_queue_id'),
        json('parameters'),
        column('infrastructure_document_id'),
        json('tags'),
        json('labels'),
        json('created_by'),
        runs.map((run) => run.template),
        runs.map((run) => run.name),
        runs.map((run) => run.idempotency_key),
        runs.map((run) => run.scheduled_time),
        JSON.stringify(state.empirical_policy),
        state.type,
        state.name,
        state.timestamp,
        state.message,
      ],
    );
    return row;
  }
}
