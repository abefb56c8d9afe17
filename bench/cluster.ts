import { jetstreamManager, JetStreamManager } from '@nats-io/jetstream';
import { connect, NatsConnection } from '@nats-io/transport-node';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { ApiClient, CLAIM_BODY, claimPath, pollPath, stockPollBody, WorkerFlowRun } from './api-client';
import { AppProcess, freePort, waitForHealth } from './apps';
import { BenchDatabase } from './bench-database';
import { BenchPool, createPool, deliverOne, mapConcurrently } from './fixture';
import { PrivateNatsCluster, PrivateNatsServer } from './nats-servers';
import { sectionMarkers, table, writeSection } from './report-section';
import { OTHERS, ResourceMonitor } from './resource-monitor';
import { SETTINGS } from './settings';
import { distribution, Distribution } from './stats';

/**
 * Issue 13's measurements (`npm run bench -- --cluster`): dispatch throughput and poll latency with one nats-server
 * against a three-node cluster with replicas 3, both up at once and measured in turn; the time from SIGKILL of the
 * stream leader to the next delivery; `/metrics` with 1,000 pools. Each topology has its own nats-server processes
 * (bench/nats-servers.ts, as the tests use), database and apps; the machine's NATS on 4222 is not touched.
 */
export const CLUSTER = {
  /** Pools drained at once, one poller each (a stock worker per pool). */
  pollers: 8,
  /** Runs due at once per drain, spread evenly over the pollers' pools. */
  runsPerDrain: 2_000,
  /** Drains per topology, alternating single, cluster, single, ... so that a change in the machine's load hits both. */
  rounds: 3,
  drainTimeoutMs: 180_000,
  kills: 6,
  /** During the kills: pollers of one pool, each polling every this often for one run (limit 1) and claiming it. */
  killPollers: 4,
  killPollIntervalMs: 50,
  killRuns: 5_000,
  resumeTimeoutMs: 60_000,
  metricsPools: 1_000,
  scrapes: 20,
} as const;

const READY_TIMEOUT_MS = 30_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Log = (message: string) => void;

export interface MachineLoad {
  /** 1-minute load average when the measurement started. */
  loadAverage: number;
  /**
   * CPU (% of one core) of processes that are not the benchmark's: other users' builds and tests (their nats-servers
   * excepted: every nats-server on the machine counts as the benchmark's).
   */
  othersPercent: number;
}

export interface DrainResult {
  topology: string;
  round: number;
  runs: number;
  seconds: number;
  runsPerSecond: number;
  polls: Distribution;
  failedPolls: number;
  claims: Record<string, number>;
  /** The slowest polls: when they were sent (ms into the drain), how long they took, how many runs they got. */
  slowest: { atMs: number; ms: number; runs: number }[];
  load: MachineLoad;
}

export interface ClusterResult {
  startedAt: Date;
  durationSeconds: number;
  natsVersion: string;
  drains: DrainResult[];
  kills: { resumeMs: number[]; leaders: string[]; load: MachineLoad; failedPolls: number };
  metrics: {
    pools: number;
    gateway: { ms: Distribution; bytes: number; samples: number };
    scheduler: { ms: Distribution; bytes: number; samples: number };
    load: MachineLoad;
  };
}

/** One topology's apps: a database, a gateway and a scheduler on their NATS. */
class System {
  readonly apps: AppProcess[] = [];
  pools: BenchPool[] = [];
  templateRunId = '';
  flowId = '';

  private constructor(
    readonly label: string,
    readonly nats: PrivateNatsServer | PrivateNatsCluster,
    readonly db: BenchDatabase,
    readonly api: ApiClient,
    readonly port: number,
    readonly metricsPort: number,
  ) {}

  static async start(
    label: string,
    nats: PrivateNatsServer | PrivateNatsCluster,
    replicas: number,
    databaseName: string,
  ): Promise<System> {
    const db = await BenchDatabase.recreate(databaseName);
    const [port, metricsPort] = [await freePort(), await freePort()];
    const system = new System(label, nats, db, new ApiClient(port), port, metricsPort);
    const env = {
      DATABASE_URL: db.url,
      NATS_URL: nats.url,
      NATS_STREAM_REPLICAS: String(replicas),
      NATS_NAMESPACE: 'bench-cluster',
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
    };
    const gateway = AppProcess.start('gateway', env);
    system.apps.push(gateway);
    await waitForHealth(port, gateway);
    system.apps.push(AppProcess.start('scheduler', env));
    await db.connect();
    system.flowId = (await system.api.call<{ id: string }>('POST', '/flows/', { name: 'bench-flow' })).id;
    system.pools = await mapConcurrently(
      Array.from({ length: CLUSTER.pollers }, (_, i) => `drain-${i}`),
      (name) => createPool(system.api, system.flowId, name),
    );
    system.templateRunId = await deliverOne(system.api, system.pools[0], READY_TIMEOUT_MS);
    return system;
  }

  /** The apps, for the resource monitor (nats-servers are found by name: a killed node comes back as a new process). */
  pids(): Record<string, number> {
    return { gateway: this.apps[0].pid, scheduler: this.apps[1].pid };
  }

  checkAlive(): void {
    for (const app of this.apps) if (!app.running) throw new Error(`${app.name} exited:\n${app.recentOutput()}`);
  }

  async stop(): Promise<void> {
    this.api.close();
    for (const app of [...this.apps].reverse()) await app.stop();
    await this.db.drop();
  }
}

/** Measures while sampling the machine: its load average at the start, and what other processes used meanwhile. */
async function underMonitor<T>(system: System, work: () => Promise<T>): Promise<{ result: T; load: MachineLoad }> {
  const loadAverage = os.loadavg()[0];
  const monitor = new ResourceMonitor(system.pids(), system.db.name);
  await monitor.start();
  const result = await work();
  const usage = await monitor.stop();
  return { result, load: { loadAverage, othersPercent: usage.cpuPercent[OTHERS] ?? 0 } };
}

/**
 * `runsPerDrain` runs due now, then every poller polls its pool with the stock body and claims (`set_state` PENDING)
 * each run it got before polling again, until all are claimed. Throughput runs from the runs' commit (due) to the
 * last claim.
 */
async function drain(system: System, round: number): Promise<DrainResult> {
  const { api, db, pools } = system;
  const now = Date.now();
  await db.seedScheduledRuns(
    pools,
    {
      count: CLUSTER.runsPerDrain,
      from: new Date(now - 1000),
      to: new Date(now),
      spacing: 'even',
      assignment: 'round-robin',
    },
    system.templateRunId,
  );
  const { result, load } = await underMonitor(system, async () => {
    const startedAt = performance.now();
    const latencies: number[] = [];
    const slowest: { atMs: number; ms: number; runs: number }[] = [];
    const claims = new Map<string, number>();
    let claimed = 0;
    let failedPolls = 0;
    const poller = async (pool: BenchPool) => {
      while (claimed < CLUSTER.runsPerDrain) {
        if (performance.now() - startedAt > CLUSTER.drainTimeoutMs) {
          throw new Error(`${system.label}: ${claimed}/${CLUSTER.runsPerDrain} runs claimed after the drain's timeout`);
        }
        const response = await api
          .request('POST', pollPath(pool.name), stockPollBody(SETTINGS.prefetchSeconds))
          .catch(() => null);
        if (response?.status !== 200) {
          failedPolls++;
          await sleep(50);
          continue;
        }
        latencies.push(response.finishedAt - response.startedAt);
        const runs = JSON.parse(response.body.toString()) as WorkerFlowRun[];
        slowest.push({
          atMs: response.startedAt - startedAt,
          ms: response.finishedAt - response.startedAt,
          runs: runs.length,
        });
        slowest.sort((a, b) => b.ms - a.ms).splice(3);
        await Promise.all(
          runs.map(async ({ flow_run: run }) => {
            const claim = await api.request('POST', claimPath(run.id), CLAIM_BODY).catch(() => null);
            const outcome =
              claim?.status === 200 || claim?.status === 201
                ? (JSON.parse(claim.body.toString()) as { status: string }).status
                : `HTTP ${claim?.status ?? 'error'}`;
            claims.set(outcome, (claims.get(outcome) ?? 0) + 1);
            if (outcome === 'ACCEPT') claimed++;
          }),
        );
        if (runs.length === 0) await sleep(20);
      }
    };
    await Promise.all(pools.map(poller));
    return { seconds: (performance.now() - startedAt) / 1000, latencies, claims, failedPolls, slowest };
  });
  system.checkAlive();
  return {
    topology: system.label,
    round,
    runs: CLUSTER.runsPerDrain,
    seconds: result.seconds,
    runsPerSecond: CLUSTER.runsPerDrain / result.seconds,
    polls: distribution(result.latencies),
    failedPolls: result.failedPolls,
    claims: Object.fromEntries(result.claims),
    slowest: result.slowest,
    load,
  };
}

/**
 * Pollers keep taking one run at a time from one pool while the node leading that pool's stream is killed with
 * SIGKILL; the time to the next run handed out is measured, then the node is started again (its store kept) and
 * allowed to catch up before the next kill.
 */
async function killLeaders(system: System, cluster: PrivateNatsCluster, log: Log): Promise<ClusterResult['kills']> {
  const pool = system.pools[0];
  const now = Date.now();
  await system.db.seedScheduledRuns(
    [pool],
    {
      count: CLUSTER.killRuns,
      from: new Date(now - 1000),
      to: new Date(now),
      spacing: 'even',
      assignment: 'round-robin',
    },
    system.templateRunId,
  );
  const admin: NatsConnection = await connect({
    servers: cluster.url.split(','),
    maxReconnectAttempts: -1,
    reconnectTimeWait: 200,
    name: 'bench-admin',
  });
  const jsm: JetStreamManager = await jetstreamManager(admin);
  const stream = `bench-cluster_runs_${pool.id}`;
  const deliveries: number[] = [];
  let failedPolls = 0;
  let running = true;
  const poller = async () => {
    while (running) {
      const response = await system.api
        .request('POST', pollPath(pool.name), { ...stockPollBody(SETTINGS.prefetchSeconds), limit: 1 })
        .catch(() => null);
      if (response?.status === 200) {
        const runs = JSON.parse(response.body.toString()) as WorkerFlowRun[];
        if (runs.length > 0) deliveries.push(Date.now());
        await Promise.all(runs.map((r) => system.api.request('POST', claimPath(r.flow_run.id), CLAIM_BODY)));
      } else {
        failedPolls++;
      }
      await sleep(CLUSTER.killPollIntervalMs);
    }
  };
  const resumeMs: number[] = [];
  const leaders: string[] = [];
  const { load } = await underMonitor(system, async () => {
    const pollers = Array.from({ length: CLUSTER.killPollers }, poller);
    try {
      for (let kill = 1; kill <= CLUSTER.kills; kill++) {
        await waitUntil(
          'runs flowing',
          () => deliveries.length > 0 && Date.now() - deliveries[deliveries.length - 1] < 500,
        );
        const leader = (await jsm.streams.info(stream)).cluster?.leader;
        if (!leader) throw new Error(`stream ${stream} has no leader`);
        const victim = cluster.server(leader);
        const killedAt = Date.now();
        await victim.stop('SIGKILL');
        await waitUntil(
          'a delivery after the kill',
          () => deliveries.some((at) => at > killedAt),
          CLUSTER.resumeTimeoutMs,
        );
        const resumed = deliveries.find((at) => at > killedAt) ?? Number.NaN;
        resumeMs.push(resumed - killedAt);
        leaders.push(leader);
        log(`kill ${kill}: ${leader} (stream leader) SIGKILLed; next delivery after ${resumed - killedAt} ms`);
        await sleep(1000);
        await victim.restart({ keepStore: true });
        await waitUntil(
          'the restarted node current again',
          async () => {
            const info = await jsm.streams.info(stream).catch(() => null);
            const replicas = info?.cluster?.replicas ?? [];
            return replicas.length === 2 && replicas.every((replica) => replica.current && !replica.offline);
          },
          60_000,
        );
      }
    } finally {
      running = false;
      await Promise.all(pollers);
    }
  });
  await admin.close();
  system.checkAlive();
  return { resumeMs, leaders, load, failedPolls };
}

async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** `/metrics` of both apps with `metricsPools` pools, each with a run past its start time (a series per pool). */
async function scrapeMetrics(system: System, log: Log): Promise<ClusterResult['metrics']> {
  log(`creating ${CLUSTER.metricsPools} pools, each with a late run`);
  const pools = await mapConcurrently(
    Array.from({ length: CLUSTER.metricsPools }, (_, i) => `metrics-${String(i).padStart(4, '0')}`),
    (name) => createPool(system.api, system.flowId, name),
  );
  const now = Date.now();
  await system.db.seedScheduledRuns(
    pools,
    {
      count: pools.length,
      from: new Date(now - 120_000),
      to: new Date(now - 60_000),
      spacing: 'even',
      assignment: 'round-robin',
    },
    system.templateRunId,
  );
  const gatewayUrl = `http://127.0.0.1:${system.port}/metrics`;
  const schedulerUrl = `http://127.0.0.1:${system.metricsPort}/metrics`;
  const series = (body: string, name: string) => body.split('\n').filter((line) => line.startsWith(`${name}{`)).length;
  // The scheduler samples the per-pool gauges every METRICS_SAMPLE_SECONDS (15 s): wait for a sample with every pool.
  await waitUntil(
    'a sample of every pool',
    async () =>
      series(await (await fetch(schedulerUrl)).text(), 'prefect_dispatch_late_scheduled_runs') >= pools.length,
    120_000,
  );
  const scrape = async (url: string) => {
    const ms: number[] = [];
    let body = '';
    for (let i = 0; i < CLUSTER.scrapes; i++) {
      const started = performance.now();
      body = await (await fetch(url)).text();
      ms.push(performance.now() - started);
      await sleep(100);
    }
    return {
      ms: distribution(ms),
      bytes: Buffer.byteLength(body),
      samples: body.split('\n').filter((line) => line && !line.startsWith('#')).length,
    };
  };
  const { result, load } = await underMonitor(system, async () => ({
    gateway: await scrape(gatewayUrl),
    scheduler: await scrape(schedulerUrl),
  }));
  return { pools: pools.length, ...result, load };
}

export async function measureCluster(log: Log): Promise<ClusterResult> {
  const started = performance.now();
  const startedAt = new Date();
  const single = await PrivateNatsServer.start();
  const cluster = await PrivateNatsCluster.start(3);
  const systems: System[] = [];
  try {
    log('one nats-server: gateway, scheduler, database');
    const one = await System.start('one nats-server', single, 1, 'prefect_dispatch_bench_nats1');
    systems.push(one);
    log('three-node cluster, replicas 3: gateway, scheduler, database');
    const three = await System.start('three-node cluster, replicas 3', cluster, 3, 'prefect_dispatch_bench_nats3');
    systems.push(three);
    const admin = await connect({ servers: single.url });
    const natsVersion = admin.info?.version ?? 'unknown';
    await admin.close();

    const drains: DrainResult[] = [];
    for (let round = 1; round <= CLUSTER.rounds; round++) {
      for (const system of [one, three]) {
        const result = await drain(system, round);
        drains.push(result);
        log(
          `round ${round}, ${system.label}: ${result.runsPerSecond.toFixed(0)} runs/s, poll p99 ${result.polls.p99.toFixed(1)} ms, ` +
            `load ${result.load.loadAverage.toFixed(1)}, others ${result.load.othersPercent.toFixed(0)} %; slowest polls ` +
            result.slowest
              .map((poll) => `${poll.ms.toFixed(0)} ms at +${poll.atMs.toFixed(0)} ms (${poll.runs} runs)`)
              .join(', '),
        );
      }
    }
    log(`${CLUSTER.kills} kills of the stream leader`);
    const kills = await killLeaders(three, cluster, log);
    await three.stop();
    systems.splice(systems.indexOf(three), 1);
    const metrics = await scrapeMetrics(one, log);
    return {
      startedAt,
      durationSeconds: (performance.now() - started) / 1000,
      natsVersion,
      drains,
      kills,
      metrics,
    };
  } catch (error) {
    for (const app of systems.flatMap((system) => system.apps)) {
      if (app.recentOutput()) log(`${app.name} output:\n${app.recentOutput()}`);
    }
    throw error;
  } finally {
    for (const system of systems) await system.stop();
    await cluster.dispose();
    await single.dispose();
  }
}

const ms = (value: number) => (Number.isFinite(value) ? `${value.toFixed(value < 10 ? 2 : 1)} ms` : '–');
const loadText = (load: MachineLoad) =>
  `load ${load.loadAverage.toFixed(1)}, others ${load.othersPercent.toFixed(0)} % of a core`;
const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length);

/** The ratios the README quotes: cluster over single, mean throughput and mean poll p99 over the rounds. */
export function clusterRatios(result: ClusterResult): { throughput: number; pollP99: number } {
  const of = (label: string) => result.drains.filter((d) => d.topology.startsWith(label));
  const [one, three] = [of('one'), of('three')];
  return {
    throughput: mean(three.map((d) => d.runsPerSecond)) / mean(one.map((d) => d.runsPerSecond)),
    pollP99: mean(three.map((d) => d.polls.p99)) / mean(one.map((d) => d.polls.p99)),
  };
}

/** Cluster ÷ one server of `value`, each round on its own. */
function perRound(result: ClusterResult, value: (drain: DrainResult) => number): string {
  const rounds = [...new Set(result.drains.map((d) => d.round))];
  return rounds
    .map((round) => {
      const [one, three] = ['one', 'three'].map((label) =>
        result.drains.find((d) => d.round === round && d.topology.startsWith(label)),
      );
      return one && three ? `${(value(three) / value(one)).toFixed(2)}×` : '–';
    })
    .join(', ');
}

export function renderClusterSection(result: ClusterResult): string {
  const { start, end } = sectionMarkers('cluster');
  const ratios = clusterRatios(result);
  const resume = distribution(result.kills.resumeMs);
  const claims = (d: DrainResult) =>
    Object.entries(d.claims)
      .map(([outcome, count]) => `${count} ${outcome}`)
      .join(', ');
  return [
    start,
    '## NATS cluster (issue 13)',
    '',
    `Generated by \`npm run bench -- --cluster\` (code in \`bench/cluster.ts\`) on ${result.startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC, ` +
      `in ${result.durationSeconds.toFixed(0)} s, nats-server ${result.natsVersion}, on the 2-core machine above ` +
      '(each row gives the load average and what other processes used): compare the topologies by their ratio within this run.',
    '',
    '### Dispatch throughput: one nats-server against a three-node cluster with replicas 3',
    '',
    `Both topologies up at once (each its own nats-server processes, database, gateway and scheduler), drained in turn. ` +
      `A drain: ${CLUSTER.runsPerDrain.toLocaleString('en-US')} runs due at once over ${CLUSTER.pollers} pools; ${CLUSTER.pollers} pollers, one per pool, ` +
      'each sending the stock poll and then `set_state` PENDING for every run it got before polling again. ' +
      'Throughput is from the runs becoming due (their commit) to the last claim; poll latency is over every poll of the drain.',
    '',
    table(
      [
        'Round',
        'Topology',
        'runs/s',
        'drain',
        'polls',
        'poll p50',
        'poll p99',
        'poll max',
        'failed polls',
        'claims',
        'machine',
      ],
      result.drains.map((d) => [
        String(d.round),
        d.topology,
        d.runsPerSecond.toFixed(0),
        `${d.seconds.toFixed(1)} s`,
        String(d.polls.count),
        ms(d.polls.p50),
        ms(d.polls.p99),
        ms(d.polls.max),
        String(d.failedPolls),
        claims(d),
        loadText(d.load),
      ]),
    ),
    '',
    `**Cluster ÷ one server:** throughput ${ratios.throughput.toFixed(2)}×, poll p99 ${ratios.pollP99.toFixed(2)}× ` +
      `(means over the ${CLUSTER.rounds} rounds; round by round, throughput ${perRound(result, (d) => d.runsPerSecond)}, ` +
      `poll p99 ${perRound(result, (d) => d.polls.p99)}). Each publication and each acknowledgement on a replicated stream waits ` +
      'for a quorum of the three nodes, all on these two cores. A claim answered 503 (what the gateway answers when Postgres ' +
      'or NATS fails a request, as under an overload) leaves its run leased to the poller until the lease ends, which ' +
      'stretches a drain.' +
      (mean(result.drains.map((d) => d.load.othersPercent)) > 50
        ? ' In this run other processes kept more than half a core busy throughout: the drain was limited by the CPU left to ' +
          'the gateway and Postgres, rounds of one topology differ as much as the topologies do, and the ratio is within that noise.'
        : ''),
    '',
    '### Kill of a node: SIGKILL of the stream leader → next delivery',
    '',
    `On the cluster, ${CLUSTER.killPollers} pollers take one run at a time (\`limit: 1\`, every ${CLUSTER.killPollIntervalMs} ms each) from one pool and claim it; ` +
      `the node leading that pool's stream is killed with SIGKILL, the time to the next run handed out is measured, then the node is started ` +
      'again with its store and the next kill waits until it has caught up.',
    '',
    table(
      ['Kills', 'p50', 'p99', 'min', 'max', 'each', 'failed polls', 'machine'],
      [
        [
          String(resume.count),
          ms(resume.p50),
          ms(resume.p99),
          ms(Math.min(...result.kills.resumeMs)),
          ms(resume.max),
          result.kills.resumeMs.map((value) => `${value}`).join(', ') + ' ms',
          String(result.kills.failedPolls),
          loadText(result.kills.load),
        ],
      ],
    ),
    '',
    'A short time means the consumer kept its leader (another node) and only the stream elected a new one; about 5 s, that the ' +
      "consumer's leader died with the node and was elected again (nats-server's election timeout).",
    '',
    '### `/metrics` with 1,000 pools',
    '',
    `${result.metrics.pools.toLocaleString('en-US')} pools more on the one-server topology, each with a run past its start time, so every ` +
      `per-pool and per-queue gauge has a series per pool; ${CLUSTER.scrapes} sequential scrapes of each app once the scheduler's sampler ` +
      `has seen them all (a scrape reads memory only, so NATS's topology does not matter here). ${loadText(result.metrics.load)}.`,
    '',
    table(
      ['App', 'p50', 'p99', 'max', 'size', 'samples'],
      (['gateway', 'scheduler'] as const).map((app) => [
        app,
        ms(result.metrics[app].ms.p50),
        ms(result.metrics[app].ms.p99),
        ms(result.metrics[app].ms.max),
        `${(result.metrics[app].bytes / 1024).toFixed(0)} KiB (${result.metrics[app].bytes.toLocaleString('en-US')} B)`,
        result.metrics[app].samples.toLocaleString('en-US'),
      ]),
    ),
    end,
  ].join('\n');
}

export function writeClusterSection(result: ClusterResult, reportPath: string): void {
  writeSection('cluster', renderClusterSection(result), reportPath);
}
