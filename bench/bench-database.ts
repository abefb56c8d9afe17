import { Client } from 'pg';

const SERVER_URL = 'postgres://postgres@127.0.0.1:5432';

/** Where seeded runs go: one pool's default queue and the deployment on it. */
export interface SeedTarget {
  workQueueId: string;
  deploymentId: string;
}

export interface SeedSpec {
  count: number;
  from: Date;
  to: Date;
  /** `even` spaces the start times evenly (a steady trickle); `random` draws them uniformly. */
  spacing: 'even' | 'random';
  /** `round-robin` gives every target its share in turn; `random` draws each run's target. */
  assignment: 'round-robin' | 'random';
}

export interface DatabaseCounters {
  transactions: number;
  flowRunSeqScans: number;
  flowRunIndexScans: number;
}

/**
 * The dedicated benchmark database: dropped and created again on every run, migrated by the gateway at boot,
 * seeded here with SQL for speed.
 */
export class BenchDatabase {
  private client?: Client;

  private constructor(readonly name: string) {}

  get url(): string {
    return `${SERVER_URL}/${this.name}`;
  }

  static async recreate(name: string): Promise<BenchDatabase> {
    await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await adminQuery(`CREATE DATABASE "${name}"`);
    return new BenchDatabase(name);
  }

  /** Opens the seeding connection (after the gateway has migrated the schema). */
  async connect(): Promise<void> {
    this.client = new Client({ connectionString: this.url });
    await this.client.connect();
  }

  private get db(): Client {
    if (!this.client) throw new Error('BenchDatabase.connect() first');
    return this.client;
  }

  async serverVersion(): Promise<string> {
    const { rows } = await this.db.query<{ server_version: string }>('SHOW server_version');
    return rows[0].server_version;
  }

  async countScheduled(): Promise<number> {
    const { rows } = await this.db.query<{ count: number }>(
      `SELECT count(*)::int AS count FROM flow_run WHERE state_type = 'SCHEDULED'`,
    );
    return rows[0].count;
  }

  /**
   * Inserts SCHEDULED runs the way Prefect's scheduler service creates them from deployment schedules
   * (auto-scheduled, idempotency key, SCHEDULED state with `scheduled_time`), round-robin over the targets.
   * The JSON defaults (`empirical_policy`, `state_details`) are copied from `templateRunId`, a run the gateway
   * created through the API, so the rows are what the API would have written.
   */
  async seedScheduledRuns(targets: SeedTarget[], spec: SeedSpec, templateRunId: string): Promise<void> {
    if (spec.count <= 0) return;
    await this.db.query('BEGIN');
    try {
      await this.db.query(
        `CREATE TEMP TABLE seed ON COMMIT DROP AS
         SELECT gen_random_uuid() AS id, gen_random_uuid() AS state_id, t.deployment_id, t.work_queue_id,
                $3::timestamptz + ($4::timestamptz - $3::timestamptz)
                  * (CASE WHEN $5 THEN (r.g - 0.5) / $6::float8 ELSE random() END) AS scheduled_time
           FROM (SELECT g, 1 + CASE WHEN $7 THEN g % cardinality($1::uuid[])
                                    ELSE floor(random() * cardinality($1::uuid[]))::int END AS target
                   FROM generate_series(1, $6::int) AS g) AS r
           JOIN unnest($1::uuid[], $2::uuid[]) WITH ORDINALITY AS t(deployment_id, work_queue_id, n) ON t.n = r.target`,
        [
          targets.map((t) => t.deploymentId),
          targets.map((t) => t.workQueueId),
          spec.from,
          spec.to,
          spec.spacing === 'even',
          spec.count,
          spec.assignment === 'round-robin',
        ],
      );
      await this.db.query(
        `INSERT INTO flow_run (id, name, flow_id, deployment_id, work_queue_id, idempotency_key, empirical_policy, tags, labels,
                               state_id, state_type, state_name, state_timestamp, expected_start_time, next_scheduled_start_time,
                               auto_scheduled, job_variables)
         SELECT s.id, 'bench-' || left(s.id::text, 8), d.flow_id, s.deployment_id, s.work_queue_id,
                'scheduled ' || s.deployment_id || ' ' || s.id, tpl.empirical_policy, '["auto-scheduled"]'::jsonb,
                jsonb_build_object('prefect.flow.id', d.flow_id, 'prefect.deployment.id', s.deployment_id),
                s.state_id, 'SCHEDULED', 'Scheduled', now(), s.scheduled_time, s.scheduled_time, true, '{}'::jsonb
           FROM seed s JOIN deployment d ON d.id = s.deployment_id
          CROSS JOIN (SELECT empirical_policy FROM flow_run WHERE id = $1) AS tpl`,
        [templateRunId],
      );
      await this.db.query(
        `INSERT INTO flow_run_state (id, flow_run_id, type, name, timestamp, state_details)
         SELECT s.state_id, s.id, 'SCHEDULED', 'Scheduled', now(),
                tpl.state_details || jsonb_build_object(
                  'flow_run_id', s.id,
                  'scheduled_time', to_char(s.scheduled_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
           FROM seed s
          CROSS JOIN (SELECT st.state_details FROM flow_run fr JOIN flow_run_state st ON st.id = fr.state_id WHERE fr.id = $1) AS tpl`,
        [templateRunId],
      );
      await this.db.query('COMMIT');
    } catch (error) {
      await this.db.query('ROLLBACK');
      throw error;
    }
  }

  /**
   * Inserts finished runs, the bulk of a long-lived database: COMPLETED (about 85 %), FAILED, CANCELLED and CRASHED,
   * started over the last 30 days, round-robin over the targets, each with its one current state row (a real run
   * has four or five; the poll never reads them). One statement per table, from `generate_series`.
   */
  async seedTerminalRuns(targets: SeedTarget[], count: number, templateRunId: string): Promise<void> {
    if (count <= 0) return;
    await this.db.query('BEGIN');
    try {
      await this.db.query(
        `CREATE TEMP TABLE seed ON COMMIT DROP AS
         SELECT gen_random_uuid() AS id, gen_random_uuid() AS state_id, t.deployment_id, t.work_queue_id,
                now() - random() * interval '30 days' AS start_time,
                (ARRAY['COMPLETED','COMPLETED','COMPLETED','COMPLETED','COMPLETED','COMPLETED',
                       'COMPLETED','COMPLETED','COMPLETED','COMPLETED','COMPLETED','COMPLETED',
                       'COMPLETED','COMPLETED','COMPLETED','COMPLETED','COMPLETED',
                       'FAILED','CANCELLED','CRASHED'])[1 + r.g % 20] AS state_type
           FROM generate_series(1, $3::int) AS r(g)
           JOIN unnest($1::uuid[], $2::uuid[]) WITH ORDINALITY AS t(deployment_id, work_queue_id, n)
             ON t.n = 1 + r.g % cardinality($1::uuid[])`,
        [targets.map((t) => t.deploymentId), targets.map((t) => t.workQueueId), count],
      );
      await this.db.query(
        `INSERT INTO flow_run (id, name, flow_id, deployment_id, work_queue_id, idempotency_key, empirical_policy, tags, labels,
                               state_id, state_type, state_name, state_timestamp, run_count, expected_start_time,
                               next_scheduled_start_time, start_time, end_time, total_run_time, auto_scheduled, job_variables)
         SELECT s.id, 'bench-' || left(s.id::text, 8), d.flow_id, s.deployment_id, s.work_queue_id,
                'scheduled ' || s.deployment_id || ' ' || s.id, tpl.empirical_policy, '["auto-scheduled"]'::jsonb,
                jsonb_build_object('prefect.flow.id', d.flow_id, 'prefect.deployment.id', s.deployment_id),
                s.state_id, s.state_type, initcap(s.state_type), s.start_time + interval '30 seconds', 1,
                s.start_time, s.start_time, s.start_time, s.start_time + interval '30 seconds', 30, true, '{}'::jsonb
           FROM seed s JOIN deployment d ON d.id = s.deployment_id
          CROSS JOIN (SELECT empirical_policy FROM flow_run WHERE id = $1) AS tpl`,
        [templateRunId],
      );
      await this.db.query(
        `INSERT INTO flow_run_state (id, flow_run_id, type, name, timestamp, state_details)
         SELECT s.state_id, s.id, s.state_type, initcap(s.state_type), s.start_time + interval '30 seconds',
                jsonb_build_object('flow_run_id', s.id)
           FROM seed s`,
      );
      await this.db.query('COMMIT');
    } catch (error) {
      await this.db.query('ROLLBACK');
      throw error;
    }
  }

  async countRuns(): Promise<number> {
    const { rows } = await this.db.query<{ count: number }>(`SELECT count(*)::int AS count FROM flow_run`);
    return rows[0].count;
  }

  /** Database size on disk (tables and indexes). */
  async sizeBytes(): Promise<number> {
    const { rows } = await this.db.query<{ size: string }>(`SELECT pg_database_size(current_database()) AS size`);
    return Number(rows[0].size);
  }

  /**
   * What autovacuum gives a long-lived database after a bulk load (visibility map, planner statistics), done
   * now so that it does not start in the middle of a measurement.
   */
  async vacuum(): Promise<void> {
    await this.db.query('VACUUM (ANALYZE) flow_run, flow_run_state');
  }

  /** States named `name` entered at or after `since` (a service's transitions, `Late` say). */
  async countStatesNamed(name: string, since: Date): Promise<number> {
    const { rows } = await this.db.query<{ count: number }>(
      'SELECT count(*)::int AS count FROM flow_run_state WHERE name = $1 AND timestamp >= $2',
      [name, since],
    );
    return rows[0].count;
  }

  async counters(): Promise<DatabaseCounters> {
    const { rows } = await this.db.query<DatabaseCounters>(
      `SELECT (d.xact_commit + d.xact_rollback)::float8 AS transactions,
              t.seq_scan::float8 AS "flowRunSeqScans", coalesce(t.idx_scan, 0)::float8 AS "flowRunIndexScans"
         FROM pg_stat_database d, pg_stat_user_tables t
        WHERE d.datname = current_database() AND t.relname = 'flow_run'`,
    );
    return rows[0];
  }

  /** Backends flush their statistics to the pg_stat_* views at most once a second: wait for that. */
  async settleCounters(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 1500));
  }

  async drop(): Promise<void> {
    await this.client?.end();
    this.client = undefined;
    await adminQuery(`DROP DATABASE IF EXISTS "${this.name}" WITH (FORCE)`);
  }
}

async function adminQuery(sql: string): Promise<void> {
  const client = new Client({ connectionString: `${SERVER_URL}/postgres` });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
