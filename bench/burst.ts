import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { ApiClient, pollPath, pythonDateTime } from './api-client';
import { runAppStack } from './app-stack';
import { BenchDatabase } from './bench-database';
import { claimAsStockWorker, Tally } from './dispatch';
import { BenchPool, createPool, deliverOne, mapConcurrently } from './fixture';
import { sectionMarkers, table } from './report-section';
import { OTHERS, POSTGRES_BACKENDS, POSTGRES_SERVER, ResourceMonitor, waitForQuietMachine } from './resource-monitor';
import { distribution, Distribution } from './stats';

/**
 * A burst (issue 14, point 5): 10,000 runs due in the same second across 100 pools, claimed by 16 stock-protocol
 * HTTP workers. `npm run bench -- --burst`; `--burst-runs N` for a quick look.
 *
 * The runs are seeded by SQL in one transaction, their scheduled times spread evenly over one second that starts
 * `leadMs` after the seed begins (so they are committed before they are due), then the dispatcher is woken as run
 * creation through the API wakes it. Worker *i* serves pools *i*, *i* + 16, … (6 or 7 pools each) and polls them in
 * turn, the stock worker's request with `scheduled_before = now + prefetch`; prefetch is 0 s by default
 * (`PREFECT_WORKER_PREFETCH_SECONDS=0`), so that a run cannot be handed out before it is due and due → claimed is
 * the service's delay, not the worker's head start (`--burst-prefetch S` sets another). Every run got is claimed at
 * once, concurrently (`set_state` PENDING with the body of Prefect 3.9.1's `propose_state(client, Pending())`), and
 * the worker polls the same pool again; after an empty answer it waits `emptyPollPauseMs` and moves to its next
 * pool (a stock worker waits `PREFECT_WORKER_QUERY_SECONDS`, 10 s, between polls of its one pool).
 */

function numberArgument(flag: string): number | undefined {
  const at = process.argv.indexOf(flag);
  return at >= 0 ? Number(process.argv[at + 1]) : undefined;
}

export const BURST = {
  runs: numberArgument('--burst-runs') ?? 10_000,
  pools: 100,
  workers: 16,
  /**
   * The workers' prefetch in each measured burst: 0 s first (no run can be handed out before it is due, so due →
   * claimed is the service's delay), then the stock worker's 10 s (runs are handed out as soon as they are on the
   * bus, up to 10 s early: how fast the burst drains). `--burst-prefetch S` measures one only.
   */
  prefetchSeconds:
    numberArgument('--burst-prefetch') !== undefined ? [numberArgument('--burst-prefetch') ?? 0] : [0, 10],
  /** The due second starts this long after the seed begins: the seed commits before any run is due. */
  leadMs: 5_000,
  emptyPollPauseMs: 50,
  /** A smaller burst first, unmeasured: every pool's stream and consumers exist, the JIT is warm. */
  warmupRuns: 1_000,
  timeoutMs: 180_000,
  quietWaitSeconds: 15,
} as const;

const DATABASE_NAME = 'prefect_dispatch_bench_burst';
/** The histogram of due → claimed: how the claims spread out in time (a cluster shows a timer at work). */
const HISTOGRAM_BUCKET_MS = 5_000;
const SYSTEM_GROUPS = ['gateway', 'scheduler', POSTGRES_BACKENDS, POSTGRES_SERVER, 'nats-server'];

export interface BurstResult {
  startedAt: Date;
  prefetchSeconds: number;
  runs: number;
  claimed: number;
  seedMs: number;
  /** From the start of the due second. */
  firstClaimMs: number;
  lastClaimMs: number;
  /** Where the measured window (runs/s, CPU) starts: the due second (0), or the commit before it (negative). */
  measuredFromMs: number;
  /** Per run, from its scheduled time to its winning claim's answer. */
  dueToClaimed: Distribution;
  /** Runs claimed per {@link HISTOGRAM_BUCKET_MS} of due → claimed, from the earliest bucket that has any. */
  histogram: { fromMs: number; counts: number[] };
  runsPerSecond: number;
  duplicates: number;
  answers: Record<string, number>;
  polls: number;
  /** Polls that returned runs (the others found none). */
  pollsWithRuns: number;
  /**
   * Runs the late-runs service marked `Late` during the burst (still unclaimed LATE_RUNS_AFTER_SECONDS after their
   * start): each is a transition of its own, about a claim's cost in Postgres, so a slow burst costs more per run.
   */
  markedLate: number;
  cpuMsPerRun: Record<string, number>;
  systemCpuMsPerRun: number;
  transactionsPerRun: number;
  othersPercent: number;
  loadAverage: { start: number[]; end: number };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What the workers saw in one burst: a round's tally, and when each winning claim's run was due. */
class BurstTally extends Tally {
  readonly dueToClaimedMs: number[] = [];
  pollsWithRuns = 0;
}

interface PolledRun {
  flow_run: { id: string; next_scheduled_start_time: string | null; expected_start_time?: string | null };
}

async function worker(
  api: ApiClient,
  pools: BenchPool[],
  name: string,
  prefetchSeconds: number,
  tally: BurstTally,
  deadline: number,
) {
  const headers = { 'x-prefect-worker-name': name };
  for (let turn = 0; !tally.done && performance.now() < deadline; turn++) {
    const pool = pools[turn % pools.length];
    for (;;) {
      const body = {
        scheduled_before: pythonDateTime(new Date(Date.now() + prefetchSeconds * 1000)),
        work_queue_names: [],
      };
      const response = await api.request('POST', pollPath(pool.name), body, headers).catch(() => null);
      tally.polls++;
      const runs = response?.status === 200 ? (JSON.parse(response.body.toString()) as PolledRun[]) : [];
      if (runs.length === 0) break;
      tally.pollsWithRuns++;
      await Promise.all(runs.map((run) => claim(api, run, tally)));
    }
    if (!tally.done) await sleep(BURST.emptyPollPauseMs);
  }
}

async function claim(api: ApiClient, { flow_run: run }: PolledRun, tally: BurstTally): Promise<void> {
  tally.handedOut(run.id);
  const status = await claimAsStockWorker(api, run.id);
  tally.answered(status, status === 'ACCEPT');
  if (status !== 'ACCEPT') return;
  const due = Date.parse(run.next_scheduled_start_time ?? run.expected_start_time ?? '');
  tally.dueToClaimedMs.push(Date.now() - due);
}

interface Setup {
  api: ApiClient;
  db: BenchDatabase;
  pools: BenchPool[];
  templateRunId: string;
  wake: () => void;
  pids: Record<string, number>;
}

/** One burst: seeded, then the workers run until every run is claimed. */
async function burst(setup: Setup, runs: number, prefetchSeconds: number, measured: boolean): Promise<BurstResult> {
  const { api, db, pools } = setup;
  const loadStart = os.loadavg();
  if (measured) await waitForQuietMachine(BURST.quietWaitSeconds * 1000);
  const tally = new BurstTally(runs);
  const seedStart = performance.now();
  const seedStartWall = Date.now();
  const dueFromWall = Date.now() + BURST.leadMs;
  const dueFrom = seedStart + BURST.leadMs;
  await db.seedScheduledRuns(
    pools,
    {
      count: runs,
      from: new Date(dueFromWall),
      to: new Date(dueFromWall + 1000),
      spacing: 'even',
      assignment: 'round-robin',
    },
    setup.templateRunId,
  );
  const seedMs = performance.now() - seedStart;
  if (performance.now() > dueFrom) throw new Error(`seeding ${runs} runs took ${seedMs.toFixed(0)} ms, past the lead`);
  setup.wake();
  const deadline = dueFrom + BURST.timeoutMs;
  const workers = Array.from({ length: BURST.workers }, (_, i) =>
    worker(
      api,
      pools.filter((_, p) => p % BURST.workers === i),
      `bench-burst-worker-${i}`,
      prefetchSeconds,
      tally,
      deadline,
    ),
  );
  // With no prefetch, measured from the start of the due second: the workers' idle polls before it are not the
  // burst's. With a prefetch the runs are handed out from the commit on, and measured from there.
  const measureFrom = prefetchSeconds > 0 ? performance.now() : dueFrom;
  await sleep(measureFrom - performance.now());
  const before = await db.counters();
  const monitor = new ResourceMonitor(setup.pids, db.name);
  await monitor.start();
  await Promise.all(workers);
  const resources = await monitor.stop();
  await db.settleCounters();
  const after = await db.counters();
  const markedLate = await db.countStatesNamed('Late', new Date(seedStartWall));
  const cpuMsPerRun = Object.fromEntries(
    Object.entries(resources.cpuPercent).map(([group, percent]) => [
      group,
      ((percent / 100) * resources.elapsedMs) / Math.max(1, tally.claimed),
    ]),
  );
  return {
    startedAt: new Date(dueFromWall),
    prefetchSeconds,
    runs,
    claimed: tally.claimed,
    seedMs,
    firstClaimMs: tally.firstClaimAt - dueFrom,
    lastClaimMs: tally.lastClaimAt - dueFrom,
    dueToClaimed: distribution(tally.dueToClaimedMs),
    histogram: histogram(tally.dueToClaimedMs),
    measuredFromMs: measureFrom - dueFrom,
    runsPerSecond: tally.claimed / ((tally.lastClaimAt - measureFrom) / 1000),
    duplicates: tally.duplicates,
    answers: Object.fromEntries(tally.answers),
    polls: tally.polls,
    pollsWithRuns: tally.pollsWithRuns,
    markedLate,
    cpuMsPerRun,
    systemCpuMsPerRun: SYSTEM_GROUPS.reduce((sum, group) => sum + (cpuMsPerRun[group] ?? 0), 0),
    transactionsPerRun: (after.transactions - before.transactions) / Math.max(1, tally.claimed),
    othersPercent: resources.cpuPercent[OTHERS] ?? 0,
    loadAverage: { start: loadStart, end: os.loadavg()[0] },
  };
}

function histogram(values: number[]): BurstResult['histogram'] {
  if (values.length === 0) return { fromMs: 0, counts: [] };
  const bucket = (value: number) => Math.floor(value / HISTOGRAM_BUCKET_MS);
  const first = Math.min(...values.map(bucket));
  const counts: number[] = [];
  for (const value of values) {
    const i = bucket(value) - first;
    while (counts.length <= i) counts.push(0);
    counts[i]++;
  }
  return { fromMs: first * HISTOGRAM_BUCKET_MS, counts };
}

export async function measureBurst(log: (message: string) => void): Promise<BurstResult[]> {
  const namespace = `bench-burst-${process.pid}`;
  return runAppStack({ databaseName: DATABASE_NAME, namespace }, log, async (stack) => {
    const { api, db, nats, gateway, scheduler } = stack;
    const flow = await api.call<{ id: string }>('POST', '/flows/', { name: 'bench-burst-flow' });
    const pools = await mapConcurrently(
      Array.from({ length: BURST.pools }, (_, i) => i),
      (i) => createPool(api, flow.id, `burst-pool-${String(i).padStart(3, '0')}`),
    );
    const templateRunId = await deliverOne(api, pools[0], 30_000);
    const setup: Setup = {
      api,
      db,
      pools,
      templateRunId,
      wake: () => nats.wakeDispatcher(namespace),
      pids: { gateway: gateway.pid, scheduler: scheduler.pid },
    };
    log(`burst: warm-up, ${BURST.warmupRuns} runs`);
    await burst(setup, BURST.warmupRuns, BURST.prefetchSeconds[0], false);
    const results: BurstResult[] = [];
    for (const prefetch of BURST.prefetchSeconds) {
      log(
        `burst: ${BURST.runs} runs due in one second over ${BURST.pools} pools, ${BURST.workers} HTTP workers, ` +
          `prefetch ${prefetch} s`,
      );
      const result = await burst(setup, BURST.runs, prefetch, true);
      stack.assertRunning();
      log(
        `burst (prefetch ${prefetch} s): ${result.claimed}/${result.runs} claimed, last claim ` +
          `${(result.lastClaimMs / 1000).toFixed(2)} s after the due second began, due → claimed p50 ` +
          `${result.dueToClaimed.p50.toFixed(0)} ms p99 ${result.dueToClaimed.p99.toFixed(0)} ms, ` +
          `${result.duplicates} duplicates, ${result.systemCpuMsPerRun.toFixed(2)} ms CPU per run, ` +
          `others ${result.othersPercent.toFixed(0)} %`,
      );
      results.push(result);
    }
    return results;
  });
}

const fixed = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : '–');

export function renderBurstSection(results: BurstResult[]): string {
  const { start, end } = sectionMarkers('burst');
  const first = results[0];
  const answers = (r: BurstResult) =>
    Object.entries(r.answers)
      .map(([status, count]) => `${count} ${status}`)
      .join(', ');
  const prefetch = (r: BurstResult) => `${r.prefetchSeconds} s`;
  return `${start}
## Burst: ${first.runs.toLocaleString('en')} runs due in one second (issue 14)

\`npm run bench -- --burst\` (bench/burst.ts) on ${first.startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC, ${os.cpus().length} CPUs
shared by the gateway, the scheduler, Postgres, NATS (the machine's nats-server) and the workers. ${first.runs.toLocaleString('en')}
runs, scheduled evenly over one second, round-robin over ${BURST.pools} pools (one queue and deployment each), seeded by
SQL in one transaction committed before that second (${BURST.leadMs / 1000} s lead), then the dispatcher woken as run creation
through the API wakes it; a burst of ${BURST.warmupRuns.toLocaleString('en')} ran before, unmeasured. ${BURST.workers}
stock-protocol HTTP workers: worker *i* serves pools *i*, *i* + ${BURST.workers}, … (${Math.floor(BURST.pools / BURST.workers)} or
${Math.ceil(BURST.pools / BURST.workers)} pools) and polls them in turn with \`POST /work_pools/{name}/get_scheduled_flow_runs\`,
\`{"scheduled_before": str(now + prefetch), "work_queue_names": []}\`, claims every run got at once, concurrently (\`POST
/flow_runs/{id}/set_state\`, Prefect 3.9.1's \`propose_state(client, Pending())\` body), polls the same pool again while it
gets runs, and after an empty answer waits ${BURST.emptyPollPauseMs} ms and moves to its next pool (a stock worker serves one
pool and waits 10 s between polls). With prefetch 0 s no run can be handed out before it is due, so due → claimed is the
service's delay; with the stock worker's 10 s the runs are handed out as soon as they are on the bus, before they are due
(due → claimed is then negative), and the burst measures how fast they drain. Times run from the start of the due second;
due → claimed is per run, from its scheduled time to its winning claim's answer. CPU is per run claimed, over the window below (system = gateway + scheduler + Postgres backends and server processes + nats-server;
the machine's nats-server is shared with other sessions, so its figure includes their use). "Others" is what the rest of
the machine used meanwhile (% of one core); load is the 1-minute load average before the burst / after it.

${table(
  [
    'prefetch',
    'runs claimed',
    'seed',
    'first claim',
    'last claim',
    'due → claimed p50',
    'p90',
    'p99',
    'max',
    'runs/s',
    'duplicates',
    'others',
    'load',
  ],
  results.map((r) => [
    prefetch(r),
    `${r.claimed.toLocaleString('en')} / ${r.runs.toLocaleString('en')}`,
    `${fixed(r.seedMs / 1000, 2)} s`,
    `${fixed(r.firstClaimMs, 0)} ms`,
    `**${fixed(r.lastClaimMs / 1000, 2)} s**`,
    `${fixed(r.dueToClaimed.p50, 0)} ms`,
    `${fixed(r.dueToClaimed.p90, 0)} ms`,
    `**${fixed(r.dueToClaimed.p99, 0)} ms**`,
    `${fixed(r.dueToClaimed.max, 0)} ms`,
    fixed(r.runsPerSecond, 0),
    `**${r.duplicates}**`,
    `${fixed(r.othersPercent, 0)} %`,
    `${fixed(r.loadAverage.start[0], 2)} / ${fixed(r.loadAverage.end, 2)}`,
  ]),
)}

Runs claimed per ${HISTOGRAM_BUCKET_MS / 1000} s of due → claimed:

${results
  .map(
    (r) =>
      `- prefetch ${r.prefetchSeconds} s: ` +
      r.histogram.counts
        .map((count, i) => {
          const from = (r.histogram.fromMs + i * HISTOGRAM_BUCKET_MS) / 1000;
          return `${from}–${from + HISTOGRAM_BUCKET_MS / 1000} s: ${count}`;
        })
        .join(', '),
  )
  .join('\n')}

"runs/s" is the runs claimed over the measured window, which ends at the last claim and starts at the due second with
no prefetch, at the seed's commit with one (${results.map((r) => `prefetch ${r.prefetchSeconds} s: ${fixed(r.measuredFromMs / 1000, 2)} s`).join(', ')} from the due second); CPU is
over the same window.

${table(
  [
    'prefetch',
    'gateway',
    'scheduler',
    'pg backends',
    'pg server',
    'nats-server',
    'system CPU per run',
    'pg transactions per run',
    'polls (with runs)',
    'marked Late',
    'claim answers',
  ],
  results.map((r) => [
    prefetch(r),
    `${fixed(r.cpuMsPerRun.gateway ?? NaN, 2)} ms`,
    `${fixed(r.cpuMsPerRun.scheduler ?? NaN, 2)} ms`,
    `${fixed(r.cpuMsPerRun[POSTGRES_BACKENDS] ?? NaN, 2)} ms`,
    `${fixed(r.cpuMsPerRun[POSTGRES_SERVER] ?? NaN, 2)} ms`,
    `${fixed(r.cpuMsPerRun['nats-server'] ?? NaN, 2)} ms`,
    `**${fixed(r.systemCpuMsPerRun, 2)} ms**`,
    fixed(r.transactionsPerRun, 2),
    `${r.polls.toLocaleString('en')} (${r.pollsWithRuns.toLocaleString('en')})`,
    r.markedLate.toLocaleString('en'),
    answers(r),
  ]),
)}
${end}`;
}
