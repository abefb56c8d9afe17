import { readFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { ApiClient, CLAIM_BODY, claimPath, pollPath, stockPollBody, WorkerFlowRun } from './api-client';
import { AppProcess, appSettings, freePort, rssBytes, runWithApps, waitForHealth } from './apps';
import { BenchDatabase } from './bench-database';
import { BenchPool, createPool, deliverOne, mapConcurrently } from './fixture';
import { Deliveries, drainEveryPool, PollSample, runPollers } from './load';
import { NatsAdmin } from './nats-admin';
import { PrivateNatsServer } from './nats-servers';
import { sectionMarkers, table } from './report-section';
import { OTHERS, POSTGRES_BACKENDS, POSTGRES_SERVER, ResourceMonitor, waitForQuietMachine } from './resource-monitor';
import { SETTINGS } from './settings';
import { distribution, Distribution } from './stats';

/**
 * Scale (issue 14, point 4): does a poll stay as fast and as cheap as the data, the fleet of pools and the number of
 * pollers grow? `npm run bench -- --scale` runs three series on one gateway and one scheduler, on a database of its
 * own and a private nats-server (bench/nats-servers.ts, so that it may be restarted):
 *
 * - pools: 10, 100, 2,000 pools, each with its stream and consumers (a run delivered on every pool first), pollers
 *   cycling over all of them; after each round the nats-server is restarted (store kept) and timed to ready, and to
 *   the first run handed out again;
 * - data: 10k, 100k, 1M flow runs in the database, a tenth SCHEDULED (1 h to 3 days ahead), the rest finished,
 *   spread over the first 100 pools, which the pollers cycle over;
 * - pollers: 1, 10, 50, 200 concurrent pollers over those 100 pools with 1M runs, 1,000 polls/s in all.
 *
 * Every poll is the stock worker's request with nothing due, so it measures what waiting for work costs; the ratio
 * last round ÷ first round of poll p99 and of system CPU per poll is checked against 1.3×.
 */

export const SCALE = {
  poolCounts: listArgument('--scale-pools') ?? [10, 100, 2_000],
  runTotals: listArgument('--scale-runs') ?? [10_000, 100_000, 1_000_000],
  pollerCounts: listArgument('--scale-pollers') ?? [1, 10, 50, 200],
  /** Pools of the data and pollers series (the first ones created). */
  dataPools: 100,
  /** The share of the runs of the data series that is SCHEDULED (in the future); the rest have finished. */
  scheduledShare: 0.1,
  /** The data and pools series poll as the polling report does. */
  pollers: SETTINGS.pollers,
  pollsPerSecond: SETTINGS.targetPollsPerSecond,
  /** The pollers series: this many polls a second in all, whatever the number of pollers. */
  pollerSeriesPollsPerSecond: 1_000,
  warmupSeconds: 3,
  measureSeconds: 10,
  quietWaitSeconds: 5,
  /** Before each round, the system's CPU with no polls at all (scheduler loops, heartbeats, timers) for this long. */
  idleSeconds: 4,
  /** Time to deliver one run on every new pool (creates its stream and consumers). */
  prewarmTimeoutMs: 180_000,
  recoveryTimeoutMs: 60_000,
  targets: { ratio: 1.3, pollP99Ms: 10 },
} as const;

function listArgument(flag: string): number[] | undefined {
  const at = process.argv.indexOf(flag);
  return at >= 0 ? process.argv[at + 1].split(',').map(Number) : undefined;
}

type Series = 'pools' | 'data' | 'pollers';

export interface ScaleRound {
  series: Series;
  /** The quantity the series varies: pools, flow runs or pollers. */
  value: number;
  pools: number;
  pollers: number;
  targetPollsPerSecond: number;
  runs: number;
  scheduledRuns: number;
  latency: Distribution;
  pollsPerSecond: number;
  failed: number;
  late: number;
  runsHandedOut: number;
  /** CPU milliseconds per poll by process group, and the system's (gateway, scheduler, Postgres, nats-server). */
  cpuMsPerPoll: Record<string, number>;
  systemCpuMsPerPoll: number;
  /** The system's CPU with nothing polling (% of one core), and CPU per poll beyond it. */
  idleSystemPercent: number;
  netCpuMsPerPoll: number;
  /**
   * The gateway's context switches per poll (voluntary: its event loop went idle and was woken; involuntary:
   * preempted). A closed loop of back-to-back polls keeps the loop busy and needs fewer wake-ups per poll.
   */
  gatewaySwitchesPerPoll: { voluntary: number; involuntary: number };
  rssBytes: { gateway: number; scheduler: number; nats: number };
  othersPercent: number;
  /** The load generator (this process: the pollers) in % of one core: it shares the cores, and a stall of its event
   * loop counts in the latency it measures. */
  loadGeneratorPercent: number;
  loadAverage: number;
  /** Data series: how long topping the database up took, and its size after. */
  seedSeconds?: number;
  databaseBytes?: number;
  /** Pools series: the nats-server restarted with its store, to "Server is ready" and to a new run handed out. */
  natsRestart?: { streams: number; readyMs: number; runHandedOutMs: number; rssAfterBytes: number };
}

export interface ScaleResult {
  startedAt: Date;
  durationSeconds: number;
  cpus: number;
  loadAverageStart: number[];
  natsVersion: string;
  rounds: ScaleRound[];
}

const DATABASE_NAME = 'prefect_dispatch_bench_scale';
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const LATE_MS = 5;
const SYSTEM_GROUPS = ['gateway', 'scheduler', POSTGRES_BACKENDS, POSTGRES_SERVER, 'nats-server'];

interface System {
  api: ApiClient;
  db: BenchDatabase;
  nats: PrivateNatsServer;
  admin: NatsAdmin;
  namespace: string;
  gateway: AppProcess;
  scheduler: AppProcess;
  flowId: string;
  pools: BenchPool[];
  templateRunId: string;
  log: (message: string) => void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function measureScale(log: (message: string) => void): Promise<ScaleResult> {
  const startedAt = new Date();
  const loadAverageStart = os.loadavg();
  const started = performance.now();
  const namespace = `bench-scale-${process.pid}`;
  const nats = await PrivateNatsServer.start();
  const db = await BenchDatabase.recreate(DATABASE_NAME);
  const port = await freePort();
  const env = { ...appSettings(db.url, namespace, port), NATS_URL: nats.url };
  const api = new ApiClient(port);
  const apps: AppProcess[] = [];
  let admin: NatsAdmin | undefined;
  const stopAll = async () => {
    api.close();
    for (const app of [...apps].reverse()) await app.stop();
    await admin?.close().catch(() => undefined);
    await nats.dispose();
    await db.drop();
  };
  return runWithApps(apps, stopAll, log, async () => {
    const gateway = AppProcess.start('gateway', env);
    apps.push(gateway);
    await waitForHealth(port, gateway);
    const scheduler = AppProcess.start('scheduler', env);
    apps.push(scheduler);
    await db.connect();
    admin = await NatsAdmin.connect(nats.url);
    const flow = await api.call<{ id: string }>('POST', '/flows/', { name: 'bench-scale-flow' });
    const first = await createPool(api, flow.id, poolName(0));
    const templateRunId = await deliverOne(api, first, 30_000);
    const system: System = {
      api,
      db,
      nats,
      admin,
      namespace,
      gateway,
      scheduler,
      flowId: flow.id,
      pools: [first],
      templateRunId,
      log,
    };
    const rounds: ScaleRound[] = [];
    const checkAlive = () => {
      for (const app of apps) if (!app.running) throw new Error(`${app.name} exited:\n${app.recentOutput()}`);
    };

    for (const count of SCALE.poolCounts) {
      await growPools(system, count);
      const round = await measureRound(system, 'pools', count, system.pools, {
        pollers: SCALE.pollers,
        pollsPerSecond: SCALE.pollsPerSecond,
      });
      round.natsRestart = await restartNats(system);
      admin = system.admin;
      rounds.push(round);
      report(log, round);
      checkAlive();
    }

    await growPools(system, SCALE.dataPools);
    const dataPools = system.pools.slice(0, SCALE.dataPools);
    for (const total of SCALE.runTotals) {
      const seeded = performance.now();
      await topUp(system, dataPools, total);
      const seedSeconds = (performance.now() - seeded) / 1000;
      const round = await measureRound(system, 'data', total, dataPools, {
        pollers: SCALE.pollers,
        pollsPerSecond: SCALE.pollsPerSecond,
      });
      round.seedSeconds = seedSeconds;
      round.databaseBytes = await db.sizeBytes();
      rounds.push(round);
      report(log, round);
      checkAlive();
    }

    for (const pollers of SCALE.pollerCounts) {
      const round = await measureRound(system, 'pollers', pollers, dataPools, {
        pollers,
        pollsPerSecond: SCALE.pollerSeriesPollsPerSecond,
      });
      rounds.push(round);
      report(log, round);
      checkAlive();
    }
    return {
      startedAt,
      durationSeconds: (performance.now() - started) / 1000,
      cpus: os.cpus().length,
      loadAverageStart,
      natsVersion: system.admin.serverVersion,
      rounds,
    };
  });
}

const poolName = (i: number) => `scale-pool-${String(i).padStart(4, '0')}`;

function report(log: (message: string) => void, r: ScaleRound): void {
  log(
    `${r.series} ${r.value.toLocaleString('en')}: p50 ${r.latency.p50.toFixed(2)} ms, p99 ${r.latency.p99.toFixed(2)} ms, ` +
      `${r.pollsPerSecond.toFixed(0)} polls/s, ${r.systemCpuMsPerPoll.toFixed(2)} ms CPU per poll, ` +
      `others ${r.othersPercent.toFixed(0)} %, load ${r.loadAverage.toFixed(2)}` +
      (r.natsRestart
        ? `; nats RSS ${mib(r.rssBytes.nats)}, restart → ready ${r.natsRestart.readyMs.toFixed(0)} ms, ` +
          `→ run handed out ${r.natsRestart.runHandedOutMs.toFixed(0)} ms`
        : ''),
  );
}

/**
 * Creates pools up to `count` (through the API, each with a deployment), then makes one run due on every new pool
 * and polls each until it is handed out: its stream and consumers exist, as on a pool in use.
 */
async function growPools(system: System, count: number): Promise<void> {
  const { api, db, pools, log } = system;
  if (pools.length >= count) return;
  const from = pools.length;
  const started = performance.now();
  const created = await mapConcurrently(
    Array.from({ length: count - from }, (_, i) => from + i),
    (i) => createPool(api, system.flowId, poolName(i)),
  );
  pools.push(...created);
  const now = Date.now();
  await db.seedScheduledRuns(
    created,
    {
      count: created.length,
      from: new Date(now - 1000),
      to: new Date(now),
      spacing: 'even',
      assignment: 'round-robin',
    },
    system.templateRunId,
  );
  system.admin.wakeDispatcher(system.namespace);
  const deliveries = new Deliveries(api);
  const silent = await drainEveryPool(api, created, deliveries, SCALE.prewarmTimeoutMs);
  await deliveries.settled();
  if (silent.length > 0) throw new Error(`no run was handed out on ${silent.length} pools (e.g. ${silent[0]})`);
  log(`${count} pools, each with a run delivered, in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

/**
 * Tops the database up to `total` runs on `pools`: SCHEDULED ones up to `SCALE.scheduledShare` of the total, 1 h to
 * 3 days ahead (never due while measuring), the rest finished; then vacuums, as autovacuum would after a bulk load.
 */
async function topUp(system: System, pools: BenchPool[], total: number): Promise<void> {
  const { db, log } = system;
  const scheduled = Math.max(0, Math.round(total * SCALE.scheduledShare) - (await db.countScheduled()));
  const finished = Math.max(0, total - (await db.countRuns()) - scheduled);
  log(`data ${total.toLocaleString('en')}: seeding ${scheduled} scheduled and ${finished} finished runs`);
  const now = Date.now();
  await db.seedScheduledRuns(
    pools,
    {
      count: scheduled,
      from: new Date(now + HOUR_MS),
      to: new Date(now + 3 * DAY_MS),
      spacing: 'random',
      assignment: 'random',
    },
    system.templateRunId,
  );
  await db.seedTerminalRuns(pools, finished, system.templateRunId);
  await db.vacuum();
}

/** Idle polls of `pools` at the given rate: a short warm-up, then `SCALE.measureSeconds` measured with the resources. */
async function measureRound(
  system: System,
  series: Series,
  value: number,
  pools: BenchPool[],
  rate: { pollers: number; pollsPerSecond: number },
): Promise<ScaleRound> {
  const { api, db } = system;
  await waitForQuietMachine(SCALE.quietWaitSeconds * 1000);
  const natsPidIdle = system.nats.pid;
  if (natsPidIdle === undefined) throw new Error('the private nats-server is not running');
  const idleMonitor = new ResourceMonitor(
    { gateway: system.gateway.pid, scheduler: system.scheduler.pid, 'nats-server': natsPidIdle },
    db.name,
  );
  await idleMonitor.start();
  await sleep(SCALE.idleSeconds * 1000);
  const idle = await idleMonitor.stop();
  const idleSystemPercent = SYSTEM_GROUPS.reduce((sum, group) => sum + (idle.cpuPercent[group] ?? 0), 0);
  const startAt = performance.now() + 200;
  const measureFrom = startAt + SCALE.warmupSeconds * 1000;
  const endAt = measureFrom + SCALE.measureSeconds * 1000;
  const natsPid = system.nats.pid;
  if (natsPid === undefined) throw new Error('the private nats-server is not running');
  const pids = { gateway: system.gateway.pid, scheduler: system.scheduler.pid, 'nats-server': natsPid };
  const deliveries = new Deliveries(api);
  const usage = (async () => {
    await sleep(measureFrom - performance.now());
    const monitor = new ResourceMonitor(pids, db.name);
    await monitor.start();
    const switchesBefore = contextSwitches(pids.gateway);
    await sleep(endAt - performance.now());
    const switchesAfter = contextSwitches(pids.gateway);
    return {
      ...(await monitor.stop()),
      switches: {
        voluntary: switchesAfter.voluntary - switchesBefore.voluntary,
        involuntary: switchesAfter.involuntary - switchesBefore.involuntary,
      },
    };
  })();
  const [samples, resources] = await Promise.all([runPollers(api, pools, { startAt, endAt }, deliveries, rate), usage]);
  await deliveries.settled();
  const polls = samples.filter((sample: PollSample) => sample.startedAt >= measureFrom);
  const ok = polls.filter((poll) => poll.status === 200);
  const perPoll = (percent: number) => ((percent / 100) * resources.elapsedMs) / Math.max(1, ok.length);
  const cpuMsPerPoll = Object.fromEntries(
    Object.entries(resources.cpuPercent).map(([group, percent]) => [group, perPoll(percent)]),
  );
  const systemCpuMsPerPoll = SYSTEM_GROUPS.reduce((sum, group) => sum + (cpuMsPerPoll[group] ?? 0), 0);
  return {
    series,
    value,
    pools: pools.length,
    pollers: rate.pollers,
    targetPollsPerSecond: rate.pollsPerSecond,
    runs: await db.countRuns(),
    scheduledRuns: await db.countScheduled(),
    latency: distribution(ok.map((poll) => poll.latencyMs)),
    pollsPerSecond: ok.length / SCALE.measureSeconds,
    failed: polls.length - ok.length,
    late: polls.filter((poll) => poll.lateMs > LATE_MS).length,
    runsHandedOut: ok.reduce((sum, poll) => sum + poll.runs, 0),
    cpuMsPerPoll,
    systemCpuMsPerPoll,
    idleSystemPercent,
    netCpuMsPerPoll: systemCpuMsPerPoll - perPoll(idleSystemPercent),
    gatewaySwitchesPerPoll: {
      voluntary: resources.switches.voluntary / Math.max(1, ok.length),
      involuntary: resources.switches.involuntary / Math.max(1, ok.length),
    },
    rssBytes: {
      gateway: resources.rssPeakBytes.gateway,
      scheduler: resources.rssPeakBytes.scheduler,
      nats: resources.rssPeakBytes['nats-server'],
    },
    othersPercent: resources.cpuPercent[OTHERS] ?? 0,
    loadGeneratorPercent: resources.cpuPercent['load generator'] ?? 0,
    loadAverage: os.loadavg()[0],
  };
}

/** Context switches so far of a process's main thread (Node's event loop), from /proc/<pid>/status. */
function contextSwitches(pid: number): { voluntary: number; involuntary: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)$`, 'm').exec(status)?.[1] ?? NaN);
  return { voluntary: field('voluntary_ctxt_switches'), involuntary: field('nonvoluntary_ctxt_switches') };
}

/**
 * Restarts the private nats-server with its store (as an orchestrator restarting the pod would): the time from
 * the new process's start to "Server is ready" (its streams restored), and to a run created through the API
 * after the restart being handed out to a poll (the apps reconnected, the stream and consumers answering).
 */
async function restartNats(system: System): Promise<NonNullable<ScaleRound['natsRestart']>> {
  const { api, nats, pools } = system;
  await nats.stop();
  const started = performance.now();
  await nats.restart({ keepStore: true });
  const readyMs = performance.now() - started;
  const pool = pools[0];
  const deadline = started + SCALE.recoveryTimeoutMs;
  let runId: string | undefined;
  while (!runId && performance.now() < deadline) {
    const created = await api
      .request('POST', `/deployments/${pool.deploymentId}/create_flow_run`, {})
      .catch(() => null);
    if (created?.status === 201 || created?.status === 200) {
      runId = (JSON.parse(created.body.toString()) as { id: string }).id;
    } else await sleep(50);
  }
  let runHandedOutMs = Number.NaN;
  while (runId && performance.now() < deadline) {
    const response = await api
      .request('POST', pollPath(pool.name), stockPollBody(SETTINGS.prefetchSeconds))
      .catch(() => null);
    const runs = response?.status === 200 ? (JSON.parse(response.body.toString()) as WorkerFlowRun[]) : [];
    if (runs.some((entry) => entry.flow_run.id === runId)) {
      runHandedOutMs = performance.now() - started;
      await api.request('POST', claimPath(runId), CLAIM_BODY);
      break;
    }
    await sleep(50);
  }
  // The old admin connection would reconnect in its own time; a new one is ready now.
  const old = system.admin;
  system.admin = await NatsAdmin.connect(nats.url);
  await old.close().catch(() => undefined);
  const streams = await system.admin.countStreams(`${system.namespace}.>`);
  system.log(`nats-server restarted: ${streams} streams, ready in ${readyMs.toFixed(0)} ms`);
  return { streams, readyMs, runHandedOutMs, rssAfterBytes: nats.pid ? rssBytes(nats.pid) : Number.NaN };
}

const mib = (bytes: number) => (Number.isFinite(bytes) ? `${(bytes / 1024 / 1024).toFixed(0)} MiB` : '–');
const fixed = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : '–');
const ms = (value: number) => (Number.isFinite(value) ? `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms` : '–');

/** Last round ÷ first round of a series: poll p99 and system CPU per poll, and whether both are within 1.3×. */
export function seriesRatios(
  rounds: ScaleRound[],
  first = rounds[0],
): { p99: number; cpu: number; netCpu: number; flat: boolean } {
  const last = rounds[rounds.length - 1];
  const p99 = last.latency.p99 / first.latency.p99;
  const cpu = last.systemCpuMsPerPoll / first.systemCpuMsPerPoll;
  const netCpu = last.netCpuMsPerPoll / first.netCpuMsPerPoll;
  return { p99, cpu, netCpu, flat: p99 <= SCALE.targets.ratio && cpu <= SCALE.targets.ratio };
}

/**
 * The pollers series' first round is one poller that must poll every millisecond: if it could not keep that pace,
 * it polled back to back (a closed loop: its event loops rarely went idle), unlike the paced rounds after it.
 * Resolves to the first round that kept its pace, when the first did not.
 */
function firstPacedRound(rounds: ScaleRound[]): ScaleRound | undefined {
  const paced = (r: ScaleRound) => r.late < 0.5 * r.latency.count;
  return rounds.length > 1 && !paced(rounds[0]) ? rounds.slice(1).find(paced) : undefined;
}

const SERIES_TEXT: Record<Series, { title: string; column: string; describe: string }> = {
  pools: {
    title: 'Pools',
    column: 'pools',
    describe:
      `${SCALE.pollers} pollers, ${SCALE.pollsPerSecond} polls/s in all, poller *i* polling pools *i*, *i* + ${SCALE.pollers}, … ` +
      'in turn over every pool. Each pool has its stream and consumers (one run was delivered on each before the ' +
      'round). After the round the private nats-server is stopped (SIGTERM) and started again with its store: ' +
      '"ready" is from the new process to its "Server is ready" (streams restored); "run handed out" is from the same ' +
      'start to a run created through the API after it appearing in a poll (the apps reconnected).',
  },
  data: {
    title: 'Data',
    column: 'flow runs',
    describe:
      `${SCALE.pollers} pollers, ${SCALE.pollsPerSecond} polls/s in all over the first ${SCALE.dataPools} pools. ` +
      `The database is topped up by SQL before each round: ${SCALE.scheduledShare * 100} % of the runs SCHEDULED, 1 h ` +
      'to 3 days ahead, drawn at random over the pools; the rest finished (COMPLETED, 5 % each FAILED, CANCELLED, ' +
      'CRASHED) over the last 30 days, round-robin over the pools, each with its current state row; then ' +
      '`VACUUM (ANALYZE)`. The runs left from the pools series (one claimed per pool) are counted.',
  },
  pollers: {
    title: 'Pollers',
    column: 'pollers',
    describe:
      `${SCALE.pollerSeriesPollsPerSecond.toLocaleString('en')} polls/s in all (each poller on a fixed period, at ` +
      `most one poll in flight, as a worker) over the first ${SCALE.dataPools} pools, with the data series' last ` +
      `database. A poller whose poll takes longer than its period falls behind: "polls/s" is what was achieved. ` +
      `Target: idle poll p99 ≤ ${SCALE.targets.pollP99Ms} ms at ${SCALE.pollerSeriesPollsPerSecond.toLocaleString('en')} polls/s.`,
  },
};

function pacedNote(rounds: ScaleRound[]): string {
  const paced = firstPacedRound(rounds);
  if (!paced) return '';
  const ratios = seriesRatios(rounds, paced);
  const first = rounds[0];
  return (
    ` The first round could not keep its pace (${first.late.toLocaleString('en')} of ${first.latency.count.toLocaleString('en')} polls ` +
    `late by more than ${LATE_MS} ms): its poller polled back to back, a closed loop in which the gateway's and ` +
    `nats-server's event loops seldom go idle between polls (see the context switches), which makes each poll cheaper ` +
    `than in the paced rounds. Against the first paced round (${paced.value.toLocaleString('en')}): poll p99 ` +
    `${fixed(ratios.p99, 2)}×, system CPU per poll ${fixed(ratios.cpu, 2)}× (net ${fixed(ratios.netCpu, 2)}×); flat ` +
    `within ${SCALE.targets.ratio}×: ${ratios.flat ? '**yes**' : '**no**'}.`
  );
}

export function renderScaleSection(result: ScaleResult): string {
  const { start, end } = sectionMarkers('scale');
  const verdict = (met: boolean) => (met ? '**yes**' : '**no**');
  const sections = (['pools', 'data', 'pollers'] as const).map((series) => {
    const rounds = result.rounds.filter((r) => r.series === series);
    if (rounds.length === 0) return '';
    const text = SERIES_TEXT[series];
    const ratios = seriesRatios(rounds);
    const extraHeader =
      series === 'pools'
        ? ['nats RSS', 'streams', 'restart → ready', '→ run handed out', 'nats RSS after restart']
        : series === 'data'
          ? ['scheduled', 'seeded in', 'database size']
          : ['p99 ≤ 10 ms at target rate'];
    const extra = (r: ScaleRound): string[] =>
      series === 'pools'
        ? [
            mib(r.rssBytes.nats),
            String(r.natsRestart?.streams ?? '–'),
            ms(r.natsRestart?.readyMs ?? NaN),
            ms(r.natsRestart?.runHandedOutMs ?? NaN),
            mib(r.natsRestart?.rssAfterBytes ?? NaN),
          ]
        : series === 'data'
          ? [r.scheduledRuns.toLocaleString('en'), `${fixed(r.seedSeconds ?? NaN)} s`, mib(r.databaseBytes ?? NaN)]
          : [
              verdict(
                r.latency.p99 <= SCALE.targets.pollP99Ms && r.pollsPerSecond >= 0.95 * SCALE.pollerSeriesPollsPerSecond,
              ),
            ];
    return `### ${text.title}

${text.describe}

${table(
  [
    text.column,
    'polls/s (target)',
    'p50',
    'p90',
    'p99',
    'max',
    'failed',
    'late > 5 ms',
    'gateway',
    'scheduler',
    'pg',
    'nats-server',
    'system CPU per poll',
    'system idle (no polls)',
    'net CPU per poll',
    'gateway context switches per poll (voluntary / involuntary)',
    'gateway RSS',
    ...extraHeader,
    'load generator',
    'others',
    'load (1 min)',
  ],
  rounds.map((r) => [
    r.value.toLocaleString('en'),
    `${fixed(r.pollsPerSecond, 0)} (${r.targetPollsPerSecond})`,
    ms(r.latency.p50),
    ms(r.latency.p90),
    `**${ms(r.latency.p99)}**`,
    ms(r.latency.max),
    String(r.failed),
    String(r.late),
    ms(r.cpuMsPerPoll.gateway ?? NaN),
    ms(r.cpuMsPerPoll.scheduler ?? NaN),
    ms((r.cpuMsPerPoll[POSTGRES_BACKENDS] ?? 0) + (r.cpuMsPerPoll[POSTGRES_SERVER] ?? 0)),
    ms(r.cpuMsPerPoll['nats-server'] ?? NaN),
    `**${ms(r.systemCpuMsPerPoll)}**`,
    `${fixed(r.idleSystemPercent, 0)} %`,
    ms(r.netCpuMsPerPoll),
    `${fixed(r.gatewaySwitchesPerPoll.voluntary, 2)} / ${fixed(r.gatewaySwitchesPerPoll.involuntary, 2)}`,
    mib(r.rssBytes.gateway),
    ...extra(r),
    `${fixed(r.loadGeneratorPercent, 0)} %`,
    `${fixed(r.othersPercent, 0)} %`,
    fixed(r.loadAverage, 2),
  ]),
)}

Last ÷ first: poll p99 ${fixed(ratios.p99, 2)}×, system CPU per poll ${fixed(ratios.cpu, 2)}× (net ${fixed(ratios.netCpu, 2)}×); flat within ${SCALE.targets.ratio}×: ${verdict(ratios.flat)}.${pacedNote(rounds)}`;
  });
  return `${start}
## Scale: data, pools, pollers (issue 14)

\`npm run bench -- --scale\` (bench/scale.ts) on ${result.startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC, in
${fixed(result.durationSeconds / 60, 1)} min, ${result.cpus} CPUs shared by the gateway, the scheduler, Postgres, a private
nats-server ${result.natsVersion} and the load generator; load average ${result.loadAverageStart.map((l) => l.toFixed(2)).join(' / ')}
when it started. One gateway and one scheduler, one database, through the three series in this order. Every poll is the stock
worker's request (\`POST /work_pools/{name}/get_scheduled_flow_runs\`, \`{"scheduled_before": str(now + 10 s),
"work_queue_names": []}\`) with nothing due, so the rounds measure what waiting for work costs. Short windows:
${SCALE.warmupSeconds} s warm-up and ${SCALE.measureSeconds} s measured per round. CPU is per successful poll over the measured
window (pg = the benchmark database's backends + Postgres' own processes; system = gateway + scheduler + pg + nats-server);
"system idle" is the system's CPU (% of one core) in ${SCALE.idleSeconds} s with no polls just before the round (scheduler loops,
heartbeats, timers), and "net CPU per poll" the system CPU per poll beyond it; context switches are of the gateway's main
thread (voluntary: its event loop went idle and was woken; involuntary: preempted);
"load generator" is the pollers' own process (% of one core; it shares the cores, and a stall of its event loop counts in
the latency it measures), "others" what the rest of the machine used meanwhile (% of one core), "load" the 1-minute load average at the round's
end. Latency moves with what else runs on the machine; CPU per poll hardly does.

${sections.filter(Boolean).join('\n\n')}
${end}`;
}
