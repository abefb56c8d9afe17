import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ApiClient } from './api-client';
import {
  AppProcess,
  appSettings,
  CLOCK_TICKS_PER_SECOND,
  freePort,
  nodeArgsFrom,
  processCpuTicksNow,
  waitForHealth,
} from './apps';
import { BenchDatabase } from './bench-database';
import { NatsAdmin } from './nats-admin';
import { sectionMarkers, writeSection } from './report-section';
import { distribution } from './stats';

/**
 * `POST /deployments/{id}/create_flow_run/bulk` against the scheduler's set-based insert of scheduled runs (issue
 * 12: "as fast per run as our bulk scheduler inserts"), on the same machine, in the same run, for the same runs.
 *
 * The route is timed through HTTP on the built gateway (a keep-alive client sending 100 runs a request, Prefect's
 * cap), each run with its own parameters and scheduled time; the scheduler's insert is its own code
 * (`SchedulerRepository.insertScheduledRuns`, in a transaction of its own, as the scheduler commits a page) run in
 * this process against the same database, 100 runs a statement too (the scheduler's default statement is 500 runs:
 * reported beside). The two alternate batch by batch, so that load from elsewhere on the machine weighs on both alike.
 * Besides times, the CPU each side took per run: the route's in the gateway and the database's backends, the insert's
 * in this process and the backends (load elsewhere moves it less than times).
 *
 * `npm run bench -- --bulk --baseline DIR` also measures the route of another build (DIR relative to the repository,
 * as the dispatch benchmark takes it), on a gateway of its own, its batches between the others: the report then
 * compares the two builds too. `BENCH_GATEWAY_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof'` profiles the gateways.
 *
 * `npm run bench -- --bulk` runs only this and writes its section into docs/benchmarks.md between
 * `<!-- bulk:start -->` and `<!-- bulk:end -->`.
 */

const DATABASE_NAME = 'prefect_dispatch_bench_bulk';
const REPORT_PATH = path.resolve(__dirname, '../../docs/benchmarks.md');
const { start: SECTION_START, end: SECTION_END } = sectionMarkers('bulk');
/** Prefect's `BULK_CREATE_LIMIT`: the most runs one request may carry. */
const PER_REQUEST = 100;
/** The scheduler's default `SCHEDULER_INSERT_BATCH_SIZE`. */
const SCHEDULER_STATEMENT = 500;
const TOTALS = [500, 5000];
/** Before measuring, this many runs each way: the gateway's code warmed up, the tables past their first pages. */
const WARM_UP_RUNS = 5000;
/** A parameter schema the enforced deployment validates every run against. */
const SCHEMA = {
  type: 'object',
  properties: { n: { type: 'integer' }, label: { type: 'string', default: 'x' } },
  required: ['n'],
};

const cpu = ({ app, postgres }: { app: number; postgres: number }) => `${app.toFixed(0)} + ${postgres.toFixed(0)} µs`;

const log = (message: string) =>
  process.stdout.write(`[bench:bulk ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

/** The persistence library as built (`npm run build`): the scheduler's insert, exactly as the scheduler runs it. */
interface Persistence {
  Database: new (dataSource: unknown) => {
    transaction<T>(work: (tx: { scheduler: SchedulerRepository }) => Promise<T>): Promise<T>;
  };
  dataSourceOptions(url: string): unknown;
}
interface SchedulerRepository {
  insertScheduledRuns(templates: unknown[], runs: unknown[], state: unknown): Promise<{ inserted: number }>;
}
interface TypeOrm {
  DataSource: new (options: unknown) => {
    initialize(): Promise<unknown>;
    destroy(): Promise<void>;
    query<T>(sql: string, parameters?: unknown[]): Promise<T>;
  };
}

export interface BulkCase {
  runs: number;
  schema: boolean;
  /**
   * Per run: the route (request sent → answer read) and the scheduler's insert (100 a statement), over every batch
   * (`mean`) and in the median batch (`median`, which a burst of load elsewhere on the machine moves less).
   */
  routeMicros: { mean: number; median: number };
  schedulerMicros: { mean: number; median: number };
  /** The scheduler's insert 500 runs a statement (its default), per run, over every batch. */
  schedulerDefaultMicros: number;
  /**
   * CPU per run, in µs, over the batches of 100 (less moved by load elsewhere than times are): the route's is the
   * gateway's and the database backends'; the insert's, this process's (where the scheduler's own code runs) and the
   * backends'. Read from /proc in clock ticks, so each figure is good to some 10 ms over all the batches.
   */
  routeCpuMicros: { app: number; postgres: number };
  schedulerCpuMicros: { app: number; postgres: number };
  /** With `--baseline DIR`: the route of that build's gateway, its batches alternating with the others. */
  baseline?: { routeMicros: { mean: number; median: number }; routeCpuMicros: { app: number; postgres: number } };
}

export interface BulkResult {
  cases: BulkCase[];
  loadBefore: number[];
  loadAfter: number[];
}

interface Deployment {
  id: string;
  flow_id: string;
  version: string | null;
  work_queue_id: string;
  work_queue_name: string;
  parameters: Record<string, unknown>;
}

/** `baselineDist`: another build of the apps (relative to the repository), whose route is measured alongside. */
export async function measureBulk(baselineDist?: string): Promise<BulkResult> {
  const namespace = `bench-bulk-${process.pid}`;
  const db = await BenchDatabase.recreate(DATABASE_NAME);
  const nats = await NatsAdmin.connect();
  const port = await freePort();
  const env = appSettings(db.url, namespace, port);
  const api = new ApiClient(port);
  const baselinePort = baselineDist ? await freePort() : null;
  const baselineApi = baselinePort === null ? null : new ApiClient(baselinePort);
  const nodeArgs = nodeArgsFrom('BENCH_GATEWAY_NODE_ARGS');
  const gateway = AppProcess.start('gateway', env, { nodeArgs });
  let baselineGateway: AppProcess | null = null;
  /* eslint-disable @typescript-eslint/no-require-imports -- the built library, resolved at run time from dist/ */
  const persistence = require('../libs/persistence/src/index.js') as Persistence;
  const typeorm = require('typeorm') as TypeOrm;
  /* eslint-enable @typescript-eslint/no-require-imports */
  const dataSource = new typeorm.DataSource(persistence.dataSourceOptions(db.url));
  try {
    await waitForHealth(port, gateway);
    if (baselinePort !== null) {
      // A namespace of its own: each gateway reads back only the events it published, as it would alone.
      baselineGateway = AppProcess.start('gateway', appSettings(db.url, `${namespace}-baseline`, baselinePort), {
        dist: baselineDist,
        nodeArgs,
      });
      await waitForHealth(baselinePort, baselineGateway);
    }
    await dataSource.initialize();
    const database = new persistence.Database(dataSource);
    const flow = await api.call<{ id: string }>('POST', '/flows/', { name: 'bench-bulk' });
    await api.call('POST', '/work_pools/', { name: 'bulk', type: 'process' });
    const deploy = (name: string, extra: Record<string, unknown>) =>
      api.call<Deployment>('POST', '/deployments/', {
        flow_id: flow.id,
        name,
        work_pool_name: 'bulk',
        parameters: { n: 0 },
        ...extra,
      });
    const plain = await deploy('plain', {});
    const enforced = await deploy('enforced', { parameter_openapi_schema: SCHEMA, enforce_parameter_schema: true });

    let sequence = 0;
    const dayAhead = Date.now() + 86_400_000;
    const routeBatch = async (deployment: Deployment, size: number, client = api): Promise<number> => {
      const body = Array.from({ length: size }, () => {
        const n = sequence++;
        return {
          parameters: { n },
          state: { type: 'SCHEDULED', state_details: { scheduled_time: new Date(dayAhead + n * 1000).toISOString() } },
        };
      });
      const started = performance.now();
      const response = await client.call<{ results: { status: string }[] }>(
        'POST',
        `/deployments/${deployment.id}/create_flow_run/bulk`,
        body,
      );
      const elapsed = performance.now() - started;
      const created = response.results.filter((result) => result.status === 'CREATED').length;
      if (created !== size) throw new Error(`the bulk route created ${created} of ${size} runs`);
      return elapsed;
    };
    const schedulerBatch = async (deployment: Deployment, size: number): Promise<number> => {
      const template = {
        flow_id: deployment.flow_id,
        deployment_id: deployment.id,
        deployment_version: deployment.version,
        work_queue_name: deployment.work_queue_name,
        work_queue_id: deployment.work_queue_id,
        parameters: deployment.parameters,
        infrastructure_document_id: null,
        tags: [],
        labels: {},
        created_by: null,
      };
      const runs = Array.from({ length: size }, () => {
        const n = sequence++;
        const scheduledTime = new Date(dayAhead + n * 1000);
        return {
          template: 0,
          name: `scheduled-${n}`,
          idempotency_key: `scheduled ${deployment.id} bench ${n}`,
          scheduled_time: scheduledTime,
          scheduled_time_text: scheduledTime.toISOString(),
        };
      });
      const state = { type: 'SCHEDULED', name: 'Scheduled', message: '', timestamp: new Date(), empirical_policy: {} };
      const started = performance.now();
      const { inserted } = await database.transaction((tx) =>
        tx.scheduler.insertScheduledRuns([template], runs, state),
      );
      const elapsed = performance.now() - started;
      if (inserted !== size) throw new Error(`the scheduler's insert created ${inserted} of ${size} runs`);
      return elapsed;
    };

    let backends: number[] = [];
    const backendTicks = () => backends.reduce((sum, pid) => sum + processCpuTicksNow(pid), 0);
    /** Runs `batch`, adding the CPU it took to `into` (µs): `app` the process given (the gateway, or this one). */
    const measured = async (
      into: { app: number; postgres: number },
      appPid: number | null,
      batch: () => Promise<number>,
    ): Promise<number> => {
      const tickMicros = 1e6 / CLOCK_TICKS_PER_SECOND;
      const own = process.cpuUsage();
      const app = appPid === null ? 0 : processCpuTicksNow(appPid);
      const postgres = backendTicks();
      const elapsed = await batch();
      into.postgres += (backendTicks() - postgres) * tickMicros;
      if (appPid === null) {
        const { user, system } = process.cpuUsage(own);
        into.app += user + system;
      } else {
        into.app += (processCpuTicksNow(appPid) - app) * tickMicros;
      }
      return elapsed;
    };

    log(`warming up: ${WARM_UP_RUNS} runs each way`);
    for (let done = 0; done < WARM_UP_RUNS; done += PER_REQUEST) {
      await routeBatch(done % 200 === 0 ? plain : enforced, PER_REQUEST);
      if (baselineApi) await routeBatch(done % 200 === 0 ? plain : enforced, PER_REQUEST, baselineApi);
      await schedulerBatch(plain, PER_REQUEST);
    }

    const loadBefore = os.loadavg();
    const cases: BulkCase[] = [];
    for (const runs of TOTALS) {
      for (const schema of [false, true]) {
        const deployment = schema ? enforced : plain;
        const routeMs: number[] = [];
        const schedulerMs: number[] = [];
        let schedulerDefaultMs = 0;
        const routeCpu = { app: 0, postgres: 0 };
        const baselineMs: number[] = [];
        const baselineCpu = { app: 0, postgres: 0 };
        const schedulerCpu = { app: 0, postgres: 0 };
        backends = (
          await dataSource.query<{ pid: number }[]>(`SELECT pid FROM pg_stat_activity WHERE datname = $1`, [
            DATABASE_NAME,
          ])
        ).map((row) => row.pid);
        for (let done = 0; done < runs; done += SCHEDULER_STATEMENT) {
          const size = Math.min(SCHEDULER_STATEMENT, runs - done);
          for (let batch = 0; batch < size; batch += PER_REQUEST) {
            routeMs.push(await measured(routeCpu, gateway.pid, () => routeBatch(deployment, PER_REQUEST)));
            if (baselineApi && baselineGateway) {
              const { pid } = baselineGateway;
              baselineMs.push(await measured(baselineCpu, pid, () => routeBatch(deployment, PER_REQUEST, baselineApi)));
            }
            schedulerMs.push(await measured(schedulerCpu, null, () => schedulerBatch(deployment, PER_REQUEST)));
          }
          schedulerDefaultMs += await schedulerBatch(deployment, size);
        }
        const perRun = (batches: number[]) => ({
          mean: (batches.reduce((sum, ms) => sum + ms, 0) * 1000) / runs,
          median: (distribution(batches).p50 * 1000) / PER_REQUEST,
        });
        const result = {
          runs,
          schema,
          routeMicros: perRun(routeMs),
          schedulerMicros: perRun(schedulerMs),
          schedulerDefaultMicros: (schedulerDefaultMs * 1000) / runs,
          routeCpuMicros: { app: routeCpu.app / runs, postgres: routeCpu.postgres / runs },
          schedulerCpuMicros: { app: schedulerCpu.app / runs, postgres: schedulerCpu.postgres / runs },
          ...(baselineMs.length > 0 && {
            baseline: {
              routeMicros: perRun(baselineMs),
              routeCpuMicros: { app: baselineCpu.app / runs, postgres: baselineCpu.postgres / runs },
            },
          }),
        };
        cases.push(result);
        const { routeMicros: route, schedulerMicros: scheduler } = result;
        log(
          `${runs} runs, ${schema ? 'with' : 'without'} a parameter schema, per run (mean / median batch): ` +
            `the route ${route.mean.toFixed(0)} / ${route.median.toFixed(0)} µs, ` +
            `the scheduler's insert ${scheduler.mean.toFixed(0)} / ${scheduler.median.toFixed(0)} µs ` +
            `(${(route.mean / scheduler.mean).toFixed(2)}× / ${(route.median / scheduler.median).toFixed(2)}×), ` +
            `${result.schedulerDefaultMicros.toFixed(0)} µs at 500 a statement; CPU per run (app + Postgres): ` +
            `the route ${cpu(result.routeCpuMicros)}, the insert ${cpu(result.schedulerCpuMicros)}`,
        );
        if (result.baseline) {
          const { routeMicros: base, routeCpuMicros: baseCpu } = result.baseline;
          log(
            `  baseline (${baselineDist}): the route ${base.mean.toFixed(0)} / ${base.median.toFixed(0)} µs, ` +
              `CPU ${cpu(baseCpu)}; this build / baseline: time ${(route.mean / base.mean).toFixed(2)}× / ` +
              `${(route.median / base.median).toFixed(2)}×, gateway CPU ${(result.routeCpuMicros.app / baseCpu.app).toFixed(2)}×`,
          );
        }
      }
    }
    if (!gateway.running) throw new Error(`gateway exited:\n${gateway.recentOutput()}`);
    if (baselineGateway && !baselineGateway.running) {
      throw new Error(`baseline gateway exited:\n${baselineGateway.recentOutput()}`);
    }
    return { cases, loadBefore, loadAfter: os.loadavg() };
  } finally {
    api.close();
    baselineApi?.close();
    await baselineGateway?.stop();
    await dataSource.destroy().catch(() => undefined);
    await gateway.stop();
    await nats.deleteStreams(namespace);
    if (baselineDist) await nats.deleteStreams(`${namespace}-baseline`);
    await nats.close();
    await db.drop();
  }
}

const micros = (value: number) => `${value.toFixed(0)} µs`;

export function renderBulkSection(result: BulkResult): string {
  const load = (values: number[]) => values.map((value) => value.toFixed(1)).join(' / ');
  return [
    SECTION_START,
    '## Creating runs in bulk (issue 12)',
    '',
    "`POST /deployments/{id}/create_flow_run/bulk` over HTTP on the built gateway, 100 runs a request (Prefect's " +
      "cap), each run with its own parameters and scheduled time (a day ahead), against the scheduler's set-based insert " +
      '(`insertScheduledRuns`, its own transaction) of as many runs of the same deployment, 100 a statement; the two ' +
      'alternate batch by batch. The route validates each run, merges and checks its parameters, orchestrates its ' +
      "first state, inserts runs and states in one statement, publishes each run's event after the commit and answers; " +
      'the scheduler only inserts. Before measuring, 5,000 runs each way warm the gateway up (with 1,000, whichever ' +
      'case came first measured slowest). ' +
      `Measured ${new Date().toISOString().slice(0, 16)}Z on ${os.cpus().length} CPUs (\`npm run bench -- --bulk\`), ` +
      `load average (1/5/15 min) ${load(result.loadBefore)} before and ${load(result.loadAfter)} after.`,
    '',
    'Per run, over all batches (mean) and in the median batch of 100; CPU per run over the batches of 100 (the ' +
      "gateway's or the inserting process's, + the database backends', from /proc in 10 ms ticks):",
    '',
    "| runs | parameter schema | route: mean / median | scheduler's insert (100 a statement): mean / median | ratio: mean / median | scheduler's insert at 500 a statement | CPU: route / insert |",
    '|---|---|---|---|---|---|---|',
    ...result.cases.map((result) => {
      const { runs, schema, routeMicros: route, schedulerMicros: scheduler, schedulerDefaultMicros } = result;
      const cells = [
        runs.toLocaleString('en-US'),
        schema ? 'enforced' : 'none',
        `${micros(route.mean)} / ${micros(route.median)}`,
        `${micros(scheduler.mean)} / ${micros(scheduler.median)}`,
        `${(route.mean / scheduler.mean).toFixed(2)}× / ${(route.median / scheduler.median).toFixed(2)}×`,
        micros(schedulerDefaultMicros),
        `${cpu(result.routeCpuMicros)} / ${cpu(result.schedulerCpuMicros)}`,
      ];
      return `| ${cells.join(' | ')} |`;
    }),
    ...baselineTable(result.cases),
    SECTION_END,
  ].join('\n');
}

/** With `--baseline`: this build's route against the baseline's, measured in the same run. */
function baselineTable(cases: BulkCase[]): string[] {
  if (!cases.some((c) => c.baseline)) return [];
  return [
    '',
    'This build against the baseline build (`--baseline`), their batches alternating in the same run (ratio < 1 is better):',
    '',
    '| runs | parameter schema | route: this build, mean / median | route: baseline, mean / median | time ratio: mean / median | CPU: this build / baseline | gateway CPU ratio |',
    '|---|---|---|---|---|---|---|',
    ...cases.flatMap(({ runs, schema, routeMicros: route, routeCpuMicros, baseline }) => {
      if (!baseline) return [];
      const cells = [
        runs.toLocaleString('en-US'),
        schema ? 'enforced' : 'none',
        `${micros(route.mean)} / ${micros(route.median)}`,
        `${micros(baseline.routeMicros.mean)} / ${micros(baseline.routeMicros.median)}`,
        `${(route.mean / baseline.routeMicros.mean).toFixed(2)}× / ${(route.median / baseline.routeMicros.median).toFixed(2)}×`,
        `${cpu(routeCpuMicros)} / ${cpu(baseline.routeCpuMicros)}`,
        `${(routeCpuMicros.app / baseline.routeCpuMicros.app).toFixed(2)}×`,
      ];
      return [`| ${cells.join(' | ')} |`];
    }),
  ];
}

/** Puts the section into docs/benchmarks.md, replacing an earlier one. */
export function writeBulkSection(section: string, reportPath = REPORT_PATH): void {
  writeSection('bulk', section, reportPath);
}
