import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { ApiClient, claimPath, pollPath, pythonDateTime } from './api-client';
import { runAppStack } from './app-stack';
import { AppProcess, nodeArgsFrom } from './apps';
import { BenchDatabase, SeedTarget } from './bench-database';
import { mapConcurrently } from './fixture';
import {
  NATS_WORKERS,
  OTHERS,
  POSTGRES_BACKENDS,
  POSTGRES_SERVER,
  ResourceMonitor,
  waitForQuietMachine,
} from './resource-monitor';
import { sectionMarkers, table } from './report-section';

/**
 * Dispatch end to end (issue 14): N runs come due at once across a few pools and queues, and W workers take them
 * until every one is claimed, either as stock Prefect workers do over HTTP (poll, then `set_state` PENDING for each
 * run got) or as the example NATS worker does (a pull from its queue's consumer, then a claim over NATS).
 * `npm run bench -- --dispatch`; with `--baseline DIR` (another build of the apps, relative to the repository) the
 * same rounds run first against that build, on a database of their own, so that a change is compared with the code
 * before it in the same session.
 */

function runsArgument(): number | undefined {
  const at = process.argv.indexOf('--runs');
  return at >= 0 ? Number(process.argv[at + 1]) : undefined;
}

/** `--only HTTP` or `--only NATS`: the rounds of one protocol (a quick look at one path); both when not given. */
function onlyArgument(): 'HTTP' | 'NATS' | undefined {
  const at = process.argv.indexOf('--only');
  if (at < 0) return undefined;
  const protocol = process.argv[at + 1]?.toUpperCase();
  if (protocol !== 'HTTP' && protocol !== 'NATS') throw new Error('--only takes HTTP or NATS');
  return protocol;
}

/** `--nats-claims N`: the example NATS worker's `--claims` (messages held and claimed at once, in one batch request). */
function natsClaimsArgument(): number | undefined {
  const at = process.argv.indexOf('--nats-claims');
  return at >= 0 ? Number(process.argv[at + 1]) : undefined;
}

export const DISPATCH = {
  pools: 4,
  /** Each pool's default queue plus this many more; one deployment per queue. */
  extraQueuesPerPool: 1,
  /** `--runs N` overrides it (a quick look). */
  runs: runsArgument() ?? 5_000,
  /** `--only HTTP|NATS` leaves the other protocol's rounds out. */
  only: onlyArgument(),
  httpWorkers: [1, 4, 16],
  natsWorkers: 16,
  /**
   * As one would run the worker to start many runs: holding 32 messages and claiming them in one request (runs/s and
   * CPU per run were flat from 8 to 64, each round's batches being what arrived while the previous was in flight;
   * below that, the worker pays a request per few runs). Every build since the worker's `--claims` takes it.
   */
  natsClaimsPerWorker: natsClaimsArgument() ?? 32,
  /** Runs claimed before the measured rounds, so that streams, consumers and the JIT are warm. */
  warmupRuns: 400,
  /** The stock worker's prefetch: it polls with `scheduled_before = now + 10 s`. */
  prefetchSeconds: 10,
  /** A stock worker whose poll came back empty waits 10 s; here it polls again this soon, to measure throughput. */
  emptyPollPauseMs: 50,
  roundTimeoutMs: 180_000,
  quietWaitSeconds: 15,
  targets: { httpRunsPerSecond: 1_000, natsRunsPerSecond: 2_000, cpuMsPerRun: 1.5 },
} as const;

// One per process: two sessions benchmarking on one machine must not drop each other's database.
const DATABASE_NAME = `prefect_dispatch_bench_dispatch_${process.pid}`;
/** `prefect server` is Prefect's own server, when the comparison (bench/compare.ts) runs these rounds against it. */
export const PREFECT_SERVER = 'prefect server';
const SYSTEM_GROUPS = [
  'gateway',
  'scheduler',
  PREFECT_SERVER,
  POSTGRES_BACKENDS,
  POSTGRES_SERVER,
  'nats-server',
] as const;

export interface DispatchRound {
  build: string;
  protocol: 'HTTP' | 'NATS';
  workers: number;
  runs: number;
  claimed: number;
  /** From the seed's commit (the runs are due then) to the first and to the last winning claim. */
  firstClaimMs: number;
  lastClaimMs: number;
  runsPerSecond: number;
  /** Runs handed out again (to the same or another worker) after they had been handed out once. */
  duplicates: number;
  answers: Record<string, number>;
  polls: number;
  /** Polls answered with no run (HTTP). */
  emptyPolls: number;
  /** CPU milliseconds per run claimed, per process group, over the round. */
  cpuMsPerRun: Record<string, number>;
  systemCpuMsPerRun: number;
  transactionsPerRun: number;
  /** What the machine spent beyond the benchmark's processes, % of one core, and the load average at the end. */
  othersPercent: number;
  loadAverage: number;
}

export interface DispatchPool {
  name: string;
  queueNames: string[];
  targets: SeedTarget[];
}

/** The server a round runs against: ours (any build), or Prefect's own. */
export interface DispatchTarget {
  api: ApiClient;
  /** Its database: the Postgres backends measured, and the transactions counted. */
  db: BenchDatabase;
  pools: DispatchPool[];
  /** The server's processes, measured with their children. */
  pids: Record<string, number>;
  build: string;
  log: (message: string) => void;
  /** Makes `count` runs due now, round-robin over every queue of `pools`; resolves once they are committed. */
  seedDue: (count: number, pools: DispatchPool[]) => Promise<void>;
  /**
   * Whether seeding is left out of the measured round: through the API it takes seconds (Prefect's server creates
   * about 70 runs/s on this machine), which is not dispatch; the SQL seed takes milliseconds and stays in.
   */
  seedOutsideRound?: boolean;
  /** Where the example NATS workers connect; only our gateway has them. */
  nats?: { namespace: string; port: number; dist: string };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The pools, their queues and a deployment per queue, through the API; and the run the SQL seed copies. */
export async function createDispatchFixture(api: ApiClient): Promise<{ pools: DispatchPool[]; templateRunId: string }> {
  const flow = await api.call<{ id: string }>('POST', '/flows/', { name: 'bench-dispatch-flow' });
  const deploy = (pool: string, queue: string) =>
    api.call<{ id: string }>('POST', '/deployments/', {
      name: `${pool}-${queue}`,
      flow_id: flow.id,
      work_pool_name: pool,
      work_queue_name: queue,
    });
  const pools = await mapConcurrently(
    Array.from({ length: DISPATCH.pools }, (_, i) => `bench-dispatch-${i}`),
    async (name) => {
      const pool = await api.call<{ default_queue_id: string }>('POST', '/work_pools/', { name, type: 'process' });
      const queues = [{ name: 'default', id: pool.default_queue_id }];
      for (let q = 1; q <= DISPATCH.extraQueuesPerPool; q++) {
        const queue = await api.call<{ id: string }>('POST', `/work_pools/${name}/queues`, { name: `queue-${q}` });
        queues.push({ name: `queue-${q}`, id: queue.id });
      }
      const targets: SeedTarget[] = [];
      for (const queue of queues) {
        targets.push({ workQueueId: queue.id, deploymentId: (await deploy(name, queue.name)).id });
      }
      return { name, queueNames: queues.map((q) => q.name), targets };
    },
  );
  // A pool nobody polls holds the template run.
  await api.call('POST', '/work_pools/', { name: 'bench-dispatch-template', type: 'process' });
  const template = await deploy('bench-dispatch-template', 'default');
  const run = await api.call<{ id: string }>('POST', `/deployments/${template.id}/create_flow_run`, {
    state: { type: 'SCHEDULED', state_details: { scheduled_time: new Date(Date.now() + 86_400_000).toISOString() } },
  });
  return { pools, templateRunId: run.id };
}

/** The body `propose_state(client, Pending(), flow_run_id=...)` sends (Prefect 3.9.1's `to_state_create`). */
export function stockPendingBody(flowRunId: string): unknown {
  return {
    state: {
      type: 'PENDING',
      name: 'Pending',
      message: null,
      state_details: {
        flow_run_id: flowRunId,
        task_run_id: null,
        child_flow_run_id: null,
        scheduled_time: null,
        cache_key: null,
        cache_expiration: null,
        deferred: null,
        untrackable_result: false,
        pause_timeout: null,
        pause_reschedule: false,
        pause_key: null,
        run_input_keyset: null,
        refresh_cache: null,
        retriable: null,
        transition_id: randomUUID(),
        task_parameters_id: null,
        traceparent: null,
        deployment_concurrency_lease_id: null,
      },
      data: null,
    },
    force: false,
  };
}

/**
 * `set_state` PENDING for a run as a stock worker proposes it: the orchestration's status (`ACCEPT`, `ABORT`, ...),
 * or what went wrong instead (`HTTP 404`, `connection reset`).
 */
export async function claimAsStockWorker(api: ApiClient, runId: string): Promise<string> {
  const response = await api.request('POST', claimPath(runId), stockPendingBody(runId)).catch(() => null);
  if (!response) return 'connection reset';
  if (response.status !== 200 && response.status !== 201) return `HTTP ${response.status}`;
  return (JSON.parse(response.body.toString()) as { status: string }).status;
}

/** What the workers of one round saw: runs handed out, claims answered, winning claims' times. */
export class Tally {
  readonly seen = new Set<string>();
  readonly answers = new Map<string, number>();
  duplicates = 0;
  claimed = 0;
  polls = 0;
  emptyPolls = 0;
  firstClaimAt = Number.NaN;
  lastClaimAt = Number.NaN;

  constructor(readonly expected: number) {}

  handedOut(runId: string): void {
    if (this.seen.has(runId)) this.duplicates++;
    this.seen.add(runId);
  }

  answered(status: string, won: boolean): void {
    this.answers.set(status, (this.answers.get(status) ?? 0) + 1);
    if (!won) return;
    this.claimed++;
    const now = performance.now();
    if (Number.isNaN(this.firstClaimAt)) this.firstClaimAt = now;
    this.lastClaimAt = now;
  }

  get done(): boolean {
    return this.claimed >= this.expected;
  }
}

/** A stock-protocol worker: poll its pool's queues, claim every run got (concurrently, as the worker's task group does). */
async function httpWorker(setup: DispatchTarget, pool: DispatchPool, name: string, tally: Tally, deadline: number) {
  const headers = { 'x-prefect-worker-name': name };
  while (!tally.done && performance.now() < deadline) {
    const body = {
      scheduled_before: pythonDateTime(new Date(Date.now() + DISPATCH.prefetchSeconds * 1000)),
      work_queue_names: pool.queueNames,
    };
    // A connection the server resets (Prefect's, when its database pool times out) fails that request only, as the
    // stock worker logs it and polls again.
    const response = await setup.api.request('POST', pollPath(pool.name), body, headers).catch(() => null);
    tally.polls++;
    const runs =
      response?.status === 200 ? (JSON.parse(response.body.toString()) as { flow_run: { id: string } }[]) : [];
    if (runs.length === 0) {
      tally.emptyPolls++;
      await sleep(DISPATCH.emptyPollPauseMs);
      continue;
    }
    await Promise.all(
      runs.map(async ({ flow_run: { id } }) => {
        tally.handedOut(id);
        const status = await claimAsStockWorker(setup.api, id);
        tally.answered(status, status === 'ACCEPT');
      }),
    );
  }
}

/**
 * `count` runs due now (spread over the last second), round-robin over every queue of the pools served (a stock worker
 * serves one pool: one worker gets one pool's runs); resolves once committed.
 */
async function seedDueRuns(
  db: BenchDatabase,
  wake: () => void,
  templateRunId: string,
  count: number,
  pools: DispatchPool[],
): Promise<void> {
  const now = Date.now();
  await db.seedScheduledRuns(
    pools.flatMap((pool) => pool.targets),
    { count, from: new Date(now - 1000), to: new Date(now), spacing: 'even', assignment: 'round-robin' },
    templateRunId,
  );
  // Runs created through the API wake the dispatcher at their commit; the SQL seed does what they do.
  wake();
}

/**
 * One round: the workers are running (NATS) or start polling (HTTP) when `runs` due runs are committed; it ends when
 * every one is claimed. CPU is measured from the commit to the last claim.
 */
export async function round(
  setup: DispatchTarget,
  protocol: 'HTTP' | 'NATS',
  workers: number,
  runs: number,
  measured = true,
  limits: { quietWaitSeconds: number; timeoutMs: number } = {
    quietWaitSeconds: DISPATCH.quietWaitSeconds,
    timeoutMs: DISPATCH.roundTimeoutMs,
  },
): Promise<DispatchRound> {
  const tally = new Tally(runs);
  let natsWorkers: AppProcess[] = [];
  if (protocol === 'NATS') natsWorkers = await startNatsWorkers(setup, workers, tally);
  const served = setup.pools.slice(0, Math.min(workers, setup.pools.length));
  if (setup.seedOutsideRound) await setup.seedDue(runs, served);
  if (measured) await waitForQuietMachine(limits.quietWaitSeconds * 1000);
  const before = await setup.db.counters();
  const monitor = new ResourceMonitor(setup.pids, setup.db.name);
  await monitor.start();
  if (!setup.seedOutsideRound) await setup.seedDue(runs, served);
  const committedAt = performance.now();
  const deadline = committedAt + limits.timeoutMs;
  const httpWorkers =
    protocol === 'HTTP'
      ? Promise.all(
          Array.from({ length: workers }, (_, i) =>
            httpWorker(setup, setup.pools[i % setup.pools.length], `bench-worker-${i}`, tally, deadline),
          ),
        )
      : null;
  while (!tally.done && performance.now() < deadline) await sleep(10);
  // Measured up to the last claim: a worker whose poll the gateway holds (another worker of its pool leased runs, so
  // it waits for that lease to end, up to 30 s) is waited for afterwards, its idle looks no part of the round's CPU.
  const resources = await monitor.stop();
  await httpWorkers;
  await Promise.all(natsWorkers.map((worker) => worker.stop()));
  await setup.db.settleCounters();
  const after = await setup.db.counters();
  if (!tally.done) setup.log(`${protocol} × ${workers}: only ${tally.claimed} of ${runs} runs claimed in time`);
  const cpuMsPerRun = Object.fromEntries(
    Object.entries(resources.cpuPercent).map(([group, percent]) => [
      group,
      (percent / 100) * (resources.elapsedMs / Math.max(1, tally.claimed)),
    ]),
  );
  return {
    build: setup.build,
    protocol,
    workers,
    runs,
    claimed: tally.claimed,
    firstClaimMs: tally.firstClaimAt - committedAt,
    lastClaimMs: tally.lastClaimAt - committedAt,
    runsPerSecond: tally.claimed / ((tally.lastClaimAt - committedAt) / 1000),
    duplicates: tally.duplicates,
    answers: Object.fromEntries(tally.answers),
    polls: tally.polls,
    emptyPolls: tally.emptyPolls,
    cpuMsPerRun,
    systemCpuMsPerRun: SYSTEM_GROUPS.reduce((sum, group) => sum + (cpuMsPerRun[group] ?? 0), 0),
    transactionsPerRun: (after.transactions - before.transactions) / Math.max(1, tally.claimed),
    othersPercent: resources.cpuPercent[OTHERS] ?? 0,
    loadAverage: os.loadavg()[0],
  };
}

/**
 * `count` example NATS workers (`apps/nats-worker`), spread over the pools; resolves once each has started. Their
 * log lines say what each claim was answered.
 */
async function startNatsWorkers(setup: DispatchTarget, count: number, tally: Tally): Promise<AppProcess[]> {
  const { nats } = setup;
  if (!nats) throw new Error(`${setup.build} has no NATS workers`);
  const workers: AppProcess[] = [];
  let started = 0;
  // `BENCH_NATS_WORKER_NODE_ARGS` profiles every worker (a file each).
  const nodeArgs = nodeArgsFrom('BENCH_NATS_WORKER_NODE_ARGS');
  for (let i = 0; i < count; i++) {
    const worker = AppProcess.start(
      'nats-worker',
      { NATS_NAMESPACE: nats.namespace },
      {
        dist: nats.dist,
        nodeArgs,
        args: [
          '--pool',
          setup.pools[i % setup.pools.length].name,
          '--api',
          `http://127.0.0.1:${nats.port}/api`,
          '--name',
          `bench-nats-worker-${i}`,
          '--claims',
          String(DISPATCH.natsClaimsPerWorker),
        ],
      },
    );
    let partial = '';
    worker.onOutput = (chunk) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const entry = JSON.parse(line) as { message: string; flow_run_id?: string; answer?: string };
        if (entry.message === 'started') started++;
        if (!entry.flow_run_id) continue;
        if (entry.message === 'claimed flow run; a real worker would start it now') {
          tally.handedOut(entry.flow_run_id);
          tally.answered(entry.answer ?? 'ACCEPT', true);
        } else if (entry.message.startsWith('claim answered ')) {
          tally.handedOut(entry.flow_run_id);
          tally.answered(entry.message.slice('claim answered '.length), false);
        } else if (entry.message === 'claim refused') {
          tally.handedOut(entry.flow_run_id);
          tally.answered('refused', false);
        }
      }
    };
    workers.push(worker);
  }
  // Sixteen processes starting at once on two busy cores take a while.
  const deadline = performance.now() + 180_000;
  try {
    while (started < count) {
      if (performance.now() > deadline) throw new Error(`only ${started} of ${count} NATS workers started`);
      const gone = workers.find((worker) => !worker.running);
      if (gone) throw new Error(`a NATS worker exited:\n${gone.recentOutput()}`);
      await sleep(50);
    }
  } catch (error) {
    await Promise.all(workers.map((worker) => worker.stop()));
    throw error;
  }
  return workers;
}

/** Every round against one build of the apps, on a fresh database and NATS namespace. */
export async function measureDispatch(
  build: string,
  dist: string,
  log: (message: string) => void,
): Promise<DispatchRound[]> {
  const namespace = `bench-dispatch-${process.pid}-${build.replace(/\W/g, '')}`;
  return runAppStack({ databaseName: DATABASE_NAME, namespace, dist }, log, async (stack) => {
    const { api, db, nats, port, gateway, scheduler } = stack;
    const { pools, templateRunId } = await createDispatchFixture(api);
    const wake = () => nats.wakeDispatcher(namespace);
    const setup: DispatchTarget = {
      api,
      db,
      pools,
      pids: { gateway: gateway.pid, scheduler: scheduler.pid },
      build,
      log,
      seedDue: (count, served) => seedDueRuns(db, wake, templateRunId, count, served),
      nats: { namespace, port, dist },
    };
    log(`${build}: warm-up, ${DISPATCH.warmupRuns} runs over HTTP`);
    await round(setup, 'HTTP', 4, DISPATCH.warmupRuns, false);
    const rounds: DispatchRound[] = [];
    const plan = [
      ...DISPATCH.httpWorkers.map((workers) => ['HTTP', workers] as const),
      ['NATS', DISPATCH.natsWorkers] as const,
    ].filter(([protocol]) => !DISPATCH.only || protocol === DISPATCH.only);
    for (const [protocol, workers] of plan) {
      log(`${build}: ${DISPATCH.runs} runs, ${workers} ${protocol} workers`);
      const result = await round(setup, protocol, workers, DISPATCH.runs);
      log(
        `${build}: ${protocol} × ${workers}: ${result.runsPerSecond.toFixed(0)} runs/s, ` +
          `${result.systemCpuMsPerRun.toFixed(2)} ms CPU per run ` +
          `(${SYSTEM_GROUPS.map((group) => `${group} ${(result.cpuMsPerRun[group] ?? 0).toFixed(2)}`).join(', ')}), ` +
          `${protocol === 'NATS' ? `NATS workers ${(result.cpuMsPerRun[NATS_WORKERS] ?? 0).toFixed(2)} ms, ` : ''}` +
          `${result.duplicates} duplicates, answers ${JSON.stringify(result.answers)}, ` +
          (protocol === 'HTTP' ? `${result.polls} polls (${result.emptyPolls} empty), ` : '') +
          `others ${result.othersPercent.toFixed(0)} %`,
      );
      rounds.push(result);
      stack.assertRunning();
    }
    return rounds;
  });
}

const fixed = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : '–');

/** The section of docs/benchmarks.md: every round, then the current build against the baseline, if one ran. */
export function renderDispatchSection(rounds: DispatchRound[], facts: { startedAt: Date; cpus: number }): string {
  const { start, end } = sectionMarkers('dispatch');
  const answers = (r: DispatchRound) =>
    Object.entries(r.answers)
      .map(([status, count]) => `${count} ${status}`)
      .join(', ');
  const builds = [...new Set(rounds.map((r) => r.build))];
  const current = builds[builds.length - 1];
  const baseline = builds.length > 1 ? builds[0] : null;
  const key = (r: DispatchRound) => `${r.protocol} ${r.workers}`;
  const comparison = baseline
    ? `\n\nThe current build against ${baseline}, same session (ratio > 1 is better):\n\n${table(
        ['Workers', 'runs/s', 'ratio', 'system CPU per run', 'ratio'],
        rounds
          .filter((r) => r.build === current)
          .map((r) => {
            const base = rounds.find((b) => b.build === baseline && key(b) === key(r));
            return [
              `${r.workers} ${r.protocol}`,
              `${fixed(base?.runsPerSecond ?? NaN, 0)} → ${fixed(r.runsPerSecond, 0)}`,
              `${fixed(r.runsPerSecond / (base?.runsPerSecond ?? NaN), 2)}×`,
              `${fixed(base?.systemCpuMsPerRun ?? NaN, 2)} → ${fixed(r.systemCpuMsPerRun, 2)} ms`,
              `${fixed((base?.systemCpuMsPerRun ?? NaN) / r.systemCpuMsPerRun, 2)}×`,
            ];
          }),
      )}`
    : '';
  const http16 = rounds.find((r) => r.build === current && r.protocol === 'HTTP' && r.workers === 16);
  const nats = rounds.find((r) => r.build === current && r.protocol === 'NATS');
  const { targets } = DISPATCH;
  const verdict = (met: boolean) => (met ? '**met**' : '**missed**');
  return `${start}
## Dispatch: from due to claimed (issue 14)

\`npm run bench -- --dispatch\` on ${facts.startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC, ${facts.cpus} CPUs shared by
the gateway, the scheduler, Postgres, NATS and the workers. ${DISPATCH.runs.toLocaleString('en')} runs come due at once
(seeded in one SQL transaction, then the dispatcher woken as run creation through the API wakes it), round-robin over
${DISPATCH.pools} pools × ${DISPATCH.extraQueuesPerPool + 1} queues; the round ends when every run is claimed. HTTP
workers speak the stock protocol: \`POST /work_pools/{name}/get_scheduled_flow_runs\` with
\`{"scheduled_before": str(now + 10 s), "work_queue_names": [the pool's queues]}\` and \`X-Prefect-Worker-Name\`, then
\`POST /flow_runs/{id}/set_state\` with the body of Prefect 3.9.1's \`propose_state(client, Pending())\` for every run
got, concurrently; an empty poll is repeated after ${DISPATCH.emptyPollPauseMs} ms (a stock worker waits 10 s). NATS
workers are the example worker (\`apps/nats-worker\`, one process each, spread over the pools, \`--claims ${
    DISPATCH.natsClaimsPerWorker
  }\`: messages held and claimed at once). Worker *i* serves pool
*i* mod ${DISPATCH.pools}, and the runs are spread over the pools served (all of them from 4 workers on). Times run from the seed's commit; CPU is per run claimed, from the commit to the last claim
(system = gateway + scheduler + Postgres backends and server processes + nats-server; the NATS workers' own CPU is
shown apart, per run claimed, and counts in no system figure). "Others" is what the rest of the
machine (other sessions' builds and tests) used meanwhile, in % of one core.

${table(
  [
    'Build',
    'Workers',
    'first claim',
    'last claim',
    'runs/s',
    'duplicates',
    'answers',
    'gateway',
    'scheduler',
    'pg backends',
    'pg server',
    'nats-server',
    'system CPU per run',
    'NATS workers',
    'pg transactions per run',
    'others',
    'load (1 min)',
  ],
  rounds.map((r) => [
    r.build,
    `${r.workers} ${r.protocol}`,
    `${fixed(r.firstClaimMs, 0)} ms`,
    `${fixed(r.lastClaimMs / 1000, 2)} s`,
    fixed(r.runsPerSecond, 0),
    String(r.duplicates),
    answers(r),
    `${fixed(r.cpuMsPerRun.gateway ?? NaN, 2)} ms`,
    `${fixed(r.cpuMsPerRun.scheduler ?? NaN, 2)} ms`,
    `${fixed(r.cpuMsPerRun[POSTGRES_BACKENDS] ?? NaN, 2)} ms`,
    `${fixed(r.cpuMsPerRun[POSTGRES_SERVER] ?? NaN, 2)} ms`,
    `${fixed(r.cpuMsPerRun['nats-server'] ?? NaN, 2)} ms`,
    `**${fixed(r.systemCpuMsPerRun, 2)} ms**`,
    `${fixed(r.cpuMsPerRun[NATS_WORKERS] ?? NaN, 2)} ms`,
    fixed(r.transactionsPerRun, 2),
    `${fixed(r.othersPercent, 0)} %`,
    fixed(r.loadAverage, 2),
  ]),
)}${comparison}

Targets (issue 14), current build: ≥ ${targets.httpRunsPerSecond.toLocaleString('en')} runs/s with 16 HTTP workers:
${fixed(http16?.runsPerSecond ?? NaN, 0)} (${verdict((http16?.runsPerSecond ?? 0) >= targets.httpRunsPerSecond)}); ≤ ${targets.cpuMsPerRun} ms
system CPU per run there: ${fixed(http16?.systemCpuMsPerRun ?? NaN, 2)} ms (${verdict((http16?.systemCpuMsPerRun ?? Infinity) <= targets.cpuMsPerRun)});
≥ ${targets.natsRunsPerSecond.toLocaleString('en')} runs/s with 16 NATS workers: ${fixed(nats?.runsPerSecond ?? NaN, 0)}
(${verdict((nats?.runsPerSecond ?? 0) >= targets.natsRunsPerSecond)}).
${end}`;
}
