import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { ApiClient, pollPath, pythonDateTime } from './api-client';
import { AppProcess, appSettings, freePort, rssBytes, waitForHealth } from './apps';
import { BenchDatabase } from './bench-database';
import { createDispatchFixture, DispatchPool, DispatchRound, DispatchTarget, PREFECT_SERVER, round } from './dispatch';
import { mapConcurrently } from './fixture';
import { NatsAdmin } from './nats-admin';
import { PrefectServer } from './prefect-server';
import { OTHERS, POSTGRES_BACKENDS, POSTGRES_SERVER, ResourceMonitor, waitForQuietMachine } from './resource-monitor';
import { distribution, Distribution } from './stats';

/**
 * `npm run bench -- --compare-prefect`: our gateway and scheduler side by side with Prefect's own server, both
 * running at once on databases of their own, seeded with the same fixture through their APIs, then measured in
 * interleaved rounds (ours, Prefect, ours, Prefect...) so that whatever else the machine does falls on both alike.
 */

function numberArgument(flag: string): number | undefined {
  const at = process.argv.indexOf(flag);
  if (at < 0) return undefined;
  const value = Number(process.argv[at + 1]);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${flag} takes a whole number`);
  return value;
}

export const COMPARE = {
  /** SCHEDULED runs in the future (1 h to 3 days ahead) seeded into each server before any round: what a poll skips. */
  backlogRuns: numberArgument('--compare-backlog') ?? 1_000,
  pollers: [1, 8, 32],
  idleWarmupSeconds: 2,
  idleMeasureSeconds: 10,
  /** Runs due at once per dispatch round. */
  dispatchRuns: numberArgument('--compare-runs') ?? 300,
  dispatchWorkers: [1, 4, 16],
  warmupRuns: 40,
  /** Every configuration this many times, the order of the two servers swapped each time. */
  repeats: numberArgument('--compare-repeats') ?? 1,
  roundTimeoutMs: 150_000,
  quietWaitSeconds: 5,
  prefetchSeconds: 10,
  /** Runs per bulk request (Prefect's `BULK_CREATE_LIMIT`), and bulk requests in flight at once while seeding. */
  bulkSize: 100,
  bulkConcurrency: 2,
} as const;

const OURS_DATABASE = 'prefect_dispatch_bench_compare';
const PREFECT_DATABASE = 'prefect_bench_compare_prefect';
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export type ServerName = 'ours' | 'Prefect';

/** One server under comparison. */
interface Server {
  name: ServerName;
  api: ApiClient;
  db: BenchDatabase;
  /**
   * The processes of both servers: the idle one's CPU is then its own group, not part of what other users of the
   * machine took; only this server's groups count as its CPU.
   */
  pids: Record<string, number>;
  pools: DispatchPool[];
  dispatch: DispatchTarget;
  /** Its processes' CPU groups (per request: "server"), as the resource monitor names them. */
  serverGroups: string[];
  alive: () => string | null;
  recentOutput: () => string;
}

export interface IdleRound {
  server: ServerName;
  pollers: number;
  perSecond: number;
  latency: Distribution;
  failed: number;
  /** Runs the idle polls were handed (there are none due: 0 expected). */
  runsHandedOut: number;
  serverCpuMsPerPoll: number;
  postgresCpuMsPerPoll: number;
  othersPercent: number;
  loadAverage: number;
}

export interface CompareResult {
  startedAt: Date;
  durationSeconds: number;
  cpus: number;
  cpuModel: string;
  loadAverageAtStart: number[];
  postgres: string;
  nats: string;
  seedSeconds: Record<ServerName, number>;
  rssAfterBytes: Record<ServerName, number>;
  idle: IdleRound[];
  dispatch: (DispatchRound & { server: ServerName; serverCpuMsPerRun: number; postgresCpuMsPerRun: number })[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A set-up request, retried on 503 as the Prefect client retries it (5 times, backing off): on a shared Postgres out
 * of connections either server answers 503 for a moment, which should not end the benchmark while seeding.
 */
async function setUpCall<T>(api: ApiClient, method: string, path: string, body?: unknown): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const response = await api.request(method, path, body);
    if (response.status === 503 && attempt < 5) {
      await sleep(500 * 2 ** attempt);
      continue;
    }
    if (response.status < 200 || response.status >= 300) {
      throw new Error(`${method} ${path} answered ${response.status}: ${response.body.toString().slice(0, 500)}`);
    }
    return JSON.parse(response.body.toString()) as T;
  }
}

/**
 * `count` runs through `POST /deployments/{id}/create_flow_run/bulk` (served by both), round-robin over every queue
 * of `pools`; `scheduledAt` gives each its start time (none: due now, as a run created without a state is).
 */
async function seedThroughApi(
  api: ApiClient,
  count: number,
  pools: DispatchPool[],
  scheduledAt?: () => Date,
): Promise<void> {
  const targets = pools.flatMap((pool) => pool.targets);
  const batches: { deploymentId: string; size: number }[] = [];
  targets.forEach((target, i) => {
    let share = Math.floor(count / targets.length) + (i < count % targets.length ? 1 : 0);
    while (share > 0) {
      const size = Math.min(share, COMPARE.bulkSize);
      batches.push({ deploymentId: target.deploymentId, size });
      share -= size;
    }
  });
  await mapConcurrently(
    batches,
    async ({ deploymentId, size }) => {
      const body = Array.from({ length: size }, () =>
        scheduledAt
          ? { state: { type: 'SCHEDULED', state_details: { scheduled_time: scheduledAt().toISOString() } } }
          : {},
      );
      const answer = await setUpCall<{ results: { status: string; error: string | null }[] }>(
        api,
        'POST',
        `/deployments/${deploymentId}/create_flow_run/bulk`,
        body,
      );
      const failed = answer.results.find((result) => result.status !== 'CREATED');
      if (failed) throw new Error(`bulk run creation answered ${failed.status}: ${failed.error}`);
    },
    COMPARE.bulkConcurrency,
  );
}

/**
 * Idle polls: `pollers` stock-protocol pollers polling back to back (poller i polls pool i mod pools, with the
 * stock worker's body and its name header) while nothing is due. Throughput, latency, CPU per poll.
 */
async function idleRound(server: Server, pollers: number): Promise<IdleRound> {
  await waitForQuietMachine(COMPARE.quietWaitSeconds * 1000);
  const measureFrom = performance.now() + COMPARE.idleWarmupSeconds * 1000;
  const endAt = measureFrom + COMPARE.idleMeasureSeconds * 1000;
  const latencies: number[] = [];
  let failed = 0;
  let runsHandedOut = 0;
  const poller = async (index: number) => {
    const pool = server.pools[index % server.pools.length];
    const headers = { 'x-prefect-worker-name': `bench-idle-${index}` };
    while (performance.now() < endAt) {
      const body = {
        scheduled_before: pythonDateTime(new Date(Date.now() + COMPARE.prefetchSeconds * 1000)),
        work_queue_names: pool.queueNames,
      };
      const response = await server.api
        .request('POST', pollPath(pool.name), body, headers)
        .catch(() => ({ status: 0, body: Buffer.alloc(0), startedAt: 0, finishedAt: 0 }));
      if (response.startedAt < measureFrom) continue;
      if (response.status !== 200) {
        failed++;
        continue;
      }
      latencies.push(response.finishedAt - response.startedAt);
      runsHandedOut += (JSON.parse(response.body.toString()) as unknown[]).length;
    }
  };
  const monitor = new ResourceMonitor(server.pids, server.db.name);
  const measured = (async () => {
    await sleep(measureFrom - performance.now());
    await monitor.start();
    await sleep(endAt - performance.now());
    return monitor.stop();
  })();
  const [resources] = await Promise.all([measured, ...Array.from({ length: pollers }, (_, i) => poller(i))]);
  const cpuMs = (groups: string[]) =>
    groups.reduce((sum, group) => sum + ((resources.cpuPercent[group] ?? 0) / 100) * resources.elapsedMs, 0) /
    Math.max(1, latencies.length);
  return {
    server: server.name,
    pollers,
    perSecond: latencies.length / COMPARE.idleMeasureSeconds,
    latency: distribution(latencies),
    failed,
    runsHandedOut,
    serverCpuMsPerPoll: cpuMs(server.serverGroups),
    postgresCpuMsPerPoll: cpuMs([POSTGRES_BACKENDS, POSTGRES_SERVER]),
    othersPercent: resources.cpuPercent[OTHERS] ?? 0,
    loadAverage: os.loadavg()[0],
  };
}

/** The order of the two servers for the `repeat`-th pass: swapped each time, so neither always goes first. */
const ordered = (servers: [Server, Server], repeat: number) => (repeat % 2 === 0 ? servers : [servers[1], servers[0]]);

function checkAlive(servers: Server[]): void {
  for (const server of servers) {
    const gone = server.alive();
    if (gone) throw new Error(gone);
  }
}

export async function comparePrefect(log: (message: string) => void): Promise<CompareResult> {
  const started = performance.now();
  const startedAt = new Date();
  const loadAverageAtStart = os.loadavg();
  const namespace = `bench-compare-${process.pid}`;
  const nats = await NatsAdmin.connect();
  const oursDb = await BenchDatabase.recreate(OURS_DATABASE);
  const port = await freePort();
  const env = appSettings(oursDb.url, namespace, port);
  const oursApi = new ApiClient(port);
  const apps: AppProcess[] = [];
  let prefect: PrefectServer | undefined;
  let prefectApi: ApiClient | undefined;

  let cleanedUp: Promise<void> | undefined;
  const cleanUp = () =>
    (cleanedUp ??= (async () => {
      oursApi.close();
      prefectApi?.close();
      await prefect?.stop();
      for (const app of [...apps].reverse()) await app.stop();
      await nats.deleteStreams(namespace);
      await nats.close();
      await oursDb.drop();
      log('cleaned up: both servers stopped, their databases and streams removed');
    })());
  const onSignal = () => void cleanUp().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    const gateway = AppProcess.start('gateway', env);
    apps.push(gateway);
    await waitForHealth(port, gateway);
    const scheduler = AppProcess.start('scheduler', env);
    apps.push(scheduler);
    await oursDb.connect();
    prefect = await PrefectServer.start(PREFECT_DATABASE, log);
    prefectApi = new ApiClient(prefect.port);
    const prefectServer = prefect;

    const makeServer = async (
      name: ServerName,
      api: ApiClient,
      db: BenchDatabase,
      pids: Record<string, number>,
      serverGroups: string[],
      alive: () => string | null,
      recentOutput: () => string,
    ): Promise<Server> => {
      const { pools } = await createDispatchFixture(api);
      const dispatch: DispatchTarget = {
        api,
        db,
        pools,
        pids,
        build: name,
        log,
        seedDue: (count, served) => seedThroughApi(api, count, served),
        seedOutsideRound: true,
      };
      return { name, api, db, pids, pools, dispatch, serverGroups, alive, recentOutput };
    };
    const ours = await makeServer(
      'ours',
      oursApi,
      oursDb,
      { gateway: gateway.pid, scheduler: scheduler.pid },
      // The bus is part of our server (the resource monitor finds nats-server by name).
      ['gateway', 'scheduler', 'nats-server'],
      () =>
        apps.map((app) => (app.running ? null : `${app.name} exited:\n${app.recentOutput()}`)).find(Boolean) ?? null,
      () => apps.map((app) => app.recentOutput()).join('\n'),
    );
    const theirs = await makeServer(
      'Prefect',
      prefectApi,
      prefect.db,
      { [PREFECT_SERVER]: prefect.pid },
      [PREFECT_SERVER],
      () => (prefectServer.running ? null : `prefect server exited:\n${prefectServer.recentOutput()}`),
      () => prefectServer.recentOutput(),
    );
    const servers: [Server, Server] = [ours, theirs];
    const everyPid = { ...ours.pids, ...theirs.pids };
    for (const server of servers) server.pids = server.dispatch.pids = everyPid;

    const seedSeconds = {} as Record<ServerName, number>;
    for (const server of servers) {
      log(`${server.name}: seeding ${COMPARE.backlogRuns} future runs through the API`);
      const from = Date.now();
      await seedThroughApi(
        server.api,
        COMPARE.backlogRuns,
        server.pools,
        () => new Date(Date.now() + HOUR_MS + Math.random() * (3 * DAY_MS - HOUR_MS)),
      );
      seedSeconds[server.name] = (Date.now() - from) / 1000;
      log(`${server.name}: seeded in ${seedSeconds[server.name].toFixed(1)} s`);
      await server.db.vacuum();
    }

    const idle: IdleRound[] = [];
    for (let repeat = 0; repeat < COMPARE.repeats; repeat++) {
      for (const pollers of COMPARE.pollers) {
        for (const server of ordered(servers, repeat)) {
          const result = await idleRound(server, pollers);
          log(
            `idle × ${pollers} ${server.name}: ${result.perSecond.toFixed(0)} polls/s, p50 ${result.latency.p50.toFixed(1)} ms, ` +
              `p99 ${result.latency.p99.toFixed(1)} ms, ${(result.serverCpuMsPerPoll + result.postgresCpuMsPerPoll).toFixed(2)} ms CPU per poll, ` +
              `others ${result.othersPercent.toFixed(0)} %`,
          );
          idle.push(result);
          checkAlive(servers);
        }
      }
    }

    const limits = { quietWaitSeconds: COMPARE.quietWaitSeconds, timeoutMs: COMPARE.roundTimeoutMs };
    for (const server of servers) {
      log(`${server.name}: dispatch warm-up, ${COMPARE.warmupRuns} runs`);
      await round(server.dispatch, 'HTTP', 4, COMPARE.warmupRuns, false, limits);
    }
    const dispatch: CompareResult['dispatch'] = [];
    for (let repeat = 0; repeat < COMPARE.repeats; repeat++) {
      for (const workers of COMPARE.dispatchWorkers) {
        for (const server of ordered(servers, repeat)) {
          const result = await round(server.dispatch, 'HTTP', workers, COMPARE.dispatchRuns, true, limits);
          const cpu = (groups: string[]) => groups.reduce((sum, group) => sum + (result.cpuMsPerRun[group] ?? 0), 0);
          const measured = {
            ...result,
            server: server.name,
            serverCpuMsPerRun: cpu(server.serverGroups),
            postgresCpuMsPerRun: cpu([POSTGRES_BACKENDS, POSTGRES_SERVER]),
          };
          log(
            `dispatch × ${workers} ${server.name}: ${result.claimed}/${result.runs} claimed, ${result.runsPerSecond.toFixed(0)} runs/s ` +
              `(first claim ${result.firstClaimMs.toFixed(0)} ms, ${result.polls} polls), ${result.duplicates} duplicates, ` +
              `answers ${JSON.stringify(result.answers)}, ${(measured.serverCpuMsPerRun + measured.postgresCpuMsPerRun).toFixed(2)} ms CPU per run, ` +
              `others ${result.othersPercent.toFixed(0)} %`,
          );
          if (Object.keys(result.answers).some((answer) => answer.startsWith('HTTP'))) {
            log(`${server.name} output:\n${server.recentOutput().slice(-3000)}`);
          }
          dispatch.push(measured);
          // A round cut short leaves runs due that the next round of the same server would take first.
          if (result.claimed < result.runs) await drainLeftovers(server);
          checkAlive(servers);
        }
      }
    }

    return {
      startedAt,
      durationSeconds: (performance.now() - started) / 1000,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
      loadAverageAtStart,
      postgres: await oursDb.serverVersion(),
      nats: nats.serverVersion,
      seedSeconds,
      rssAfterBytes: {
        ours: rssBytes(gateway.pid) + rssBytes(scheduler.pid),
        Prefect: rssBytes(prefect.pid),
      },
      idle,
      dispatch,
    };
  } catch (error) {
    for (const app of apps) if (app.recentOutput()) log(`${app.name} output:\n${app.recentOutput()}`);
    if (prefect?.recentOutput()) log(`prefect server output:\n${prefect.recentOutput()}`);
    throw error;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanUp();
  }
}

/** Cancels what a cut-short round left SCHEDULED and due, through the API, so that the next round starts clean. */
async function drainLeftovers(server: Server): Promise<void> {
  const due = await setUpCall<{ id: string }[]>(server.api, 'POST', '/flow_runs/filter', {
    flow_runs: {
      state: { type: { any_: ['SCHEDULED'] } },
      next_scheduled_start_time: { before_: new Date(Date.now() + COMPARE.prefetchSeconds * 1000).toISOString() },
    },
    limit: 200,
  });
  server.dispatch.log(`${server.name}: cancelling ${due.length} runs left due by the round`);
  await mapConcurrently(due, (run) =>
    setUpCall(server.api, 'POST', `/flow_runs/${run.id}/set_state`, { state: { type: 'CANCELLED' }, force: true }),
  );
  if (due.length === 200) await drainLeftovers(server);
}
