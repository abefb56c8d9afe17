import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { ApiClient } from './api-client';
import { AppProcess, appSettings, CLOCK_TICKS_PER_SECOND, freePort, processCpuTicksNow, waitForHealth } from './apps';
import { BenchDatabase } from './bench-database';
import { NatsAdmin } from './nats-admin';
import { readSection, sectionMarkers, writeSection } from './report-section';
import { POSTGRES_BACKENDS, ResourceMonitor } from './resource-monitor';

/**
 * The scheduler service at scale (issue 5): how long 10,000 deployments with 1-minute interval schedules take to get
 * their runs from an empty `flow_run` table, and what the scheduler's loop costs once they have them.
 *
 * Run on its own after a build: `npm run build && tsc -p bench/tsconfig.json && node dist/bench/schedules.js`; it
 * writes its section into docs/benchmarks.md between `<!-- schedules:start -->` and `<!-- schedules:end -->`
 * (appended the first time). `measureSchedules()` and `renderSchedulesSection()` are the hook for bench/main.ts.
 */

const DATABASE_NAME = 'prefect_dispatch_bench_schedules';
const REPORT_PATH = path.resolve(__dirname, '../../docs/benchmarks.md');
const DEPLOYMENTS = 10_000;
const INTERVAL_SECONDS = 60;
const MATERIALISE_TARGET_SECONDS = 30;
const MATERIALISE_TIMEOUT_MS = 300_000;
/** The no-work phase: loops this often for this long, with nothing due (min scheduled time halved). */
const IDLE_LOOP_SECONDS = 2;
const IDLE_MEASURE_SECONDS = 30;
/** The steady phase: Prefect's settings, a loop every 10 s for two minutes (two top-ups of every deployment). */
const STEADY_LOOP_SECONDS = 10;
const STEADY_MEASURE_SECONDS = 120;
const { start: SECTION_START, end: SECTION_END } = sectionMarkers('schedules');

const log = (message: string) =>
  process.stdout.write(`[bench:schedules ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** The apps this benchmark started, so that a signal stops them too. */
const apps: AppProcess[] = [];

export interface PhaseCost {
  loops: number;
  runsInserted: number;
  schedulerCpuMsPerLoop: number;
  postgresCpuMsPerLoop: number;
}

export interface SchedulesResult {
  deployments: number;
  runs: number;
  /** From the scheduler process's start until every run was in the table. */
  materialiseSeconds: number;
  /** From the first run's insert to the last one's (the pass itself, without the process's boot). */
  insertSpanSeconds: number;
  schedulerCpuSecondsToMaterialise: number;
  postgresCpuSecondsToMaterialise: number;
  idle: PhaseCost;
  steady: PhaseCost;
}

async function count(client: Client, sql: string): Promise<number> {
  const { rows } = await client.query<{ n: number }>(sql);
  return rows[0].n;
}

/** Seeds `DEPLOYMENTS` deployments on the pool's queue, each with a 1-minute interval schedule, changed long ago. */
async function seedDeployments(client: Client, flowId: string, queueId: string): Promise<void> {
  await client.query(
    `WITH d AS (
       INSERT INTO deployment (name, flow_id, work_queue_id, work_queue_name, tags, parameters, labels, created, updated)
       SELECT 'every-minute-' || g, $1, $2, 'default', '["bench"]', '{"n": 1}', '{}', now() - interval '1 day', now() - interval '1 day'
         FROM generate_series(1, $3::int) AS g RETURNING id)
     INSERT INTO deployment_schedule (deployment_id, schedule, created, updated)
     SELECT id, jsonb_build_object('interval', $4::int, 'anchor_date', '2026-01-01T00:00:00.000Z', 'timezone', 'UTC'),
            now() - interval '1 day', now() - interval '1 day'
       FROM d`,
    [flowId, queueId, DEPLOYMENTS, INTERVAL_SECONDS],
  );
}

/** CPU of the scheduler and of the database's backends over one phase of `seconds`, per loop. */
async function measurePhase(
  client: Client,
  scheduler: AppProcess,
  seconds: number,
  loopSeconds: number,
): Promise<PhaseCost> {
  const before = await count(client, 'SELECT count(*)::int AS n FROM flow_run');
  const monitor = new ResourceMonitor({ scheduler: scheduler.pid }, DATABASE_NAME);
  await monitor.start();
  await sleep(seconds * 1000);
  const usage = await monitor.stop();
  const after = await count(client, 'SELECT count(*)::int AS n FROM flow_run');
  const loops = seconds / loopSeconds;
  const msPerLoop = (percent: number) => ((percent / 100) * seconds * 1000) / loops;
  return {
    loops,
    runsInserted: after - before,
    schedulerCpuMsPerLoop: msPerLoop(usage.cpuPercent.scheduler ?? 0),
    postgresCpuMsPerLoop: msPerLoop(usage.cpuPercent[POSTGRES_BACKENDS] ?? 0),
  };
}

export async function measureSchedules(): Promise<SchedulesResult> {
  const namespace = `bench-schedules-${process.pid}`;
  const db = await BenchDatabase.recreate(DATABASE_NAME);
  const nats = await NatsAdmin.connect();
  const port = await freePort();
  // Only the scheduler service works: the pool is paused, so nothing is dispatched, and the other loops are off.
  const env = {
    ...appSettings(db.url, namespace, port),
    FOREMAN_ENABLED: 'false',
    LATE_RUNS_ENABLED: 'false',
  };
  const api = new ApiClient(port);
  const client = new Client({ connectionString: db.url });
  const startScheduler = (extra: Record<string, string>) => {
    const app = AppProcess.start('scheduler', { ...env, ...extra });
    apps.push(app);
    return app;
  };
  try {
    const gateway = AppProcess.start('gateway', env);
    apps.push(gateway);
    await waitForHealth(port, gateway);
    await client.connect();
    const flow = await api.call<{ id: string }>('POST', '/flows/', { name: 'bench-schedules' });
    const pool = await api.call<{ default_queue_id: string }>('POST', '/work_pools/', {
      name: 'schedules',
      type: 'process',
      is_paused: true,
    });
    log(`seeding ${DEPLOYMENTS} deployments with ${INTERVAL_SECONDS}-second interval schedules`);
    await seedDeployments(client, flow.id, pool.default_queue_id);
    await client.query('VACUUM ANALYZE deployment, deployment_schedule');

    log('materialising: one scheduler, main loop only (the deployments changed a day ago)');
    const cpuBefore = await schedulerAndPostgresTicks(client);
    const started = performance.now();
    const first = startScheduler({ SCHEDULER_LOOP_SECONDS: '3600' });
    let runs = 0;
    // Pages commit in deployment id order, one transaction each (two at a time): the pass is nearly done when the last
    // deployment has runs, and done when every one has. The cheap probe comes first because a full count of a growing
    // `flow_run` every 100 ms would take a core from the Postgres it measures.
    const lastDeploymentHasRuns = async () => {
      const { rows: probe } = await client.query<{ done: boolean }>(
        'SELECT EXISTS (SELECT 1 FROM flow_run WHERE deployment_id = (SELECT id FROM deployment ORDER BY id DESC LIMIT 1)) AS done',
      );
      return probe[0].done;
    };
    for (let scheduled = 0; scheduled < DEPLOYMENTS;) {
      if (performance.now() - started > MATERIALISE_TIMEOUT_MS) {
        throw new Error(`runs still missing after ${MATERIALISE_TIMEOUT_MS} ms:\n${first.recentOutput()}`);
      }
      if (!first.running) throw new Error(`scheduler exited:\n${first.recentOutput()}`);
      await sleep(100);
      if (!(await lastDeploymentHasRuns())) continue;
      const { rows: progress } = await client.query<{ runs: number; deployments: number }>(
        'SELECT count(*)::int AS runs, count(DISTINCT deployment_id)::int AS deployments FROM flow_run',
      );
      ({ runs, deployments: scheduled } = progress[0]);
    }
    const materialiseSeconds = (performance.now() - started) / 1000;
    const { rows } = await client.query<{ span: number }>(
      `SELECT extract(epoch FROM max(created) - min(created))::float8 AS span FROM flow_run`,
    );
    const cpu = await schedulerAndPostgresTicks(client, first.pid);
    await first.stop();
    const postgresTicks = cpu.postgres - cpuBefore.postgres;
    log(`${runs} runs in ${materialiseSeconds.toFixed(1)} s`);
    await client.query('VACUUM ANALYZE flow_run, flow_run_state');

    log(`no work due: a loop every ${IDLE_LOOP_SECONDS} s for ${IDLE_MEASURE_SECONDS} s`);
    const idleScheduler = startScheduler({
      SCHEDULER_LOOP_SECONDS: String(IDLE_LOOP_SECONDS),
      SCHEDULER_RECENT_DEPLOYMENTS_LOOP_SECONDS: String(IDLE_LOOP_SECONDS),
      SCHEDULER_MIN_SCHEDULED_TIME_SECONDS: '1800',
    });
    await sleep(3000);
    const idle = await measurePhase(client, idleScheduler, IDLE_MEASURE_SECONDS, IDLE_LOOP_SECONDS);
    await idleScheduler.stop();

    log(`steady state, Prefect's settings: a loop every ${STEADY_LOOP_SECONDS} s for ${STEADY_MEASURE_SECONDS} s`);
    const steadyScheduler = startScheduler({ SCHEDULER_LOOP_SECONDS: String(STEADY_LOOP_SECONDS) });
    await sleep(3000);
    const steady = await measurePhase(client, steadyScheduler, STEADY_MEASURE_SECONDS, STEADY_LOOP_SECONDS);
    await steadyScheduler.stop();

    return {
      deployments: DEPLOYMENTS,
      runs,
      materialiseSeconds,
      insertSpanSeconds: rows[0].span,
      schedulerCpuSecondsToMaterialise: cpu.scheduler / CLOCK_TICKS_PER_SECOND,
      postgresCpuSecondsToMaterialise: postgresTicks / CLOCK_TICKS_PER_SECOND,
      idle,
      steady,
    };
  } catch (error) {
    for (const app of apps) if (app.recentOutput()) log(`${app.name} output:\n${app.recentOutput()}`);
    throw error;
  } finally {
    api.close();
    await client.end().catch(() => undefined);
    for (const app of [...apps].reverse()) await app.stop();
    await nats.deleteStreams(namespace);
    await nats.close();
    await db.drop();
  }
}

/** CPU ticks so far of the scheduler (when given) and of every backend of the bench database. */
async function schedulerAndPostgresTicks(
  client: Client,
  schedulerPid?: number,
): Promise<{ scheduler: number; postgres: number }> {
  const { rows } = await client.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = $1`, [
    DATABASE_NAME,
  ]);
  return {
    scheduler: schedulerPid ? processCpuTicksNow(schedulerPid) : 0,
    postgres: rows.reduce((sum, row) => sum + processCpuTicksNow(row.pid), 0),
  };
}

const fixed = (value: number, digits = 1) => value.toFixed(digits);

export function renderSchedulesSection(result: SchedulesResult): string {
  const met = result.materialiseSeconds < MATERIALISE_TARGET_SECONDS;
  const phase = (name: string, cost: PhaseCost) =>
    `| ${name} | ${fixed(cost.loops, 0)} | ${cost.runsInserted} | ${fixed(cost.schedulerCpuMsPerLoop)} ms | ${fixed(cost.postgresCpuMsPerLoop)} ms |`;
  return [
    SECTION_START,
    '## Deployment schedules (issue 5)',
    '',
    `${result.deployments.toLocaleString('en-US')} deployments, each with a ${INTERVAL_SECONDS}-second interval schedule, on one paused pool ` +
      "(so only the scheduler service works), `flow_run` empty; one scheduler process, Prefect's defaults " +
      '(3/100 runs, 1 h/100 days, batches of 100 deployments, inserts of 500 runs). ' +
      `Measured ${new Date().toISOString().slice(0, 16)}Z on ${os.cpus().length} CPUs (\`node dist/bench/schedules.js\`). ` +
      'The benchmark watches progress with one index probe every 100 ms and counts the runs only once the last ' +
      'deployment has some; the Postgres CPU includes that probe.',
    '',
    '| materialising from an empty table | |',
    '|---|---|',
    `| runs created (with their state rows) | ${result.runs.toLocaleString('en-US')} |`,
    `| scheduler start → every run in the table | ${fixed(result.materialiseSeconds)} s (target < ${MATERIALISE_TARGET_SECONDS} s: ${met ? '**met**' : '**missed**'}) |`,
    `| first insert → last insert | ${fixed(result.insertSpanSeconds)} s |`,
    `| CPU: scheduler / Postgres backends | ${fixed(result.schedulerCpuSecondsToMaterialise)} s / ${fixed(result.postgresCpuSecondsToMaterialise)} s |`,
    '',
    '| loop cost afterwards | loops | runs inserted | scheduler CPU per loop | Postgres CPU per loop |',
    '|---|---|---|---|---|',
    phase(`nothing due (min scheduled time 30 min), loop every ${IDLE_LOOP_SECONDS} s`, result.idle),
    phase(
      `Prefect's settings, loop every ${STEADY_LOOP_SECONDS} s (each deployment needs a run a minute)`,
      result.steady,
    ),
    SECTION_END,
  ].join('\n');
}

/** The section as docs/benchmarks.md holds it now, if it has one. */
export function readSchedulesSection(reportPath = REPORT_PATH): string | null {
  return readSection('schedules', reportPath);
}

/** Replaces the section between the markers, or appends it the first time. */
export function writeSchedulesSection(section: string, reportPath = REPORT_PATH): void {
  writeSection('schedules', section, reportPath);
}

if (require.main === module) {
  // Stopping the benchmark stops its apps too (their shutdown drops nothing else).
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void Promise.all(apps.map((app) => app.stop())).finally(() => process.exit(130)));
  }
  measureSchedules()
    .then((result) => {
      log(JSON.stringify(result));
      writeSchedulesSection(renderSchedulesSection(result));
      log(`wrote ${path.relative(process.cwd(), REPORT_PATH)}`);
    })
    .catch((error: unknown) => {
      process.stderr.write(
        `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exit(1);
    });
}
