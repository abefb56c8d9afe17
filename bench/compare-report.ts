import { COMPARE, CompareResult, IdleRound, ServerName } from './compare';
import { PREFECT_VERSION } from './prefect-venv';
import { sectionMarkers, table } from './report-section';

export const COMPARE_SECTION = 'compare';

const fixed = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : '–');
const ms = (value: number) => (Number.isFinite(value) ? `${value.toFixed(value < 10 ? 2 : 1)} ms` : '–');
/** `ours / theirs` or `theirs / ours`, written so that above 1 always means we do better. */
const ratio = (better: number, worse: number) =>
  Number.isFinite(better / worse) ? `${fixed(better / worse, 1)}×` : '–';

/** The rounds of one configuration, ours and Prefect's, in the order they ran (several with `--compare-repeats`). */
function pairs<T extends { server: ServerName }>(rounds: T[], key: (round: T) => number): [T, T, string][] {
  const result: [T, T, string][] = [];
  for (const k of [...new Set(rounds.map(key))]) {
    const ours = rounds.filter((r) => key(r) === k && r.server === 'ours');
    const theirs = rounds.filter((r) => key(r) === k && r.server === 'Prefect');
    // With several passes, each row says which one (odd passes ran ours first, even ones Prefect first).
    const label = (i: number) =>
      COMPARE.repeats > 1 ? `${k} (pass ${i + 1}, ${i % 2 === 0 ? 'ours' : 'Prefect'} first)` : String(k);
    ours.forEach((r, i) => theirs[i] && result.push([r, theirs[i], label(i)]));
  }
  return result;
}

const load = (r: { othersPercent: number; loadAverage: number }) =>
  `${fixed(r.othersPercent, 0)} % / ${fixed(r.loadAverage, 2)}`;

export function renderCompareSection(result: CompareResult): string {
  const { start, end } = sectionMarkers(COMPARE_SECTION);
  const idle = pairs(result.idle, (r: IdleRound) => r.pollers);
  const dispatch = pairs(result.dispatch, (r) => r.workers);
  const aborts = (answers: Record<string, number>) => answers.ABORT ?? 0;
  const others = (answers: Record<string, number>) =>
    Object.entries(answers)
      .filter(([status]) => status !== 'ACCEPT' && status !== 'ABORT')
      .map(([status, count]) => `${count} ${status}`)
      .join(', ') || 'none';
  return `${start}
## Side by side with Prefect ${PREFECT_VERSION}

\`npm run bench -- --compare-prefect\` on ${result.startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC, in ${fixed(result.durationSeconds / 60, 1)} min:
our gateway and scheduler (with nats-server ${result.nats}) and Prefect ${PREFECT_VERSION}'s own server (\`prefect server start\`, its
services on, as a user runs it) were up at the same time on ${result.cpus} × ${result.cpuModel}, each on a Postgres ${result.postgres.split(' ')[0]}
database of its own on the same Postgres server, with the load generator on the same cores. Each got the same fixture through its API: ${COMPARE.dispatchWorkers.length + 1}
work pools of 2 queues with a deployment per queue, then ${COMPARE.backlogRuns.toLocaleString('en')} SCHEDULED runs 1 h to 3 days ahead through
\`POST /deployments/{id}/create_flow_run/bulk\` (ours took ${fixed(result.seedSeconds.ours)} s, Prefect ${fixed(result.seedSeconds.Prefect)} s). Every
configuration ran against ours, then Prefect${COMPARE.repeats > 1 ? ` (the order swapped at each of the ${COMPARE.repeats} passes)` : ''}, so that
what else the machine did fell on both; the ratios are the point, the absolute figures move with the machine's load.
"Load" is what other processes used during the round (% of one core: other sessions' builds and tests, and the other
server's own idle work on Postgres) / the 1-minute load average at its end; the load average was
${result.loadAverageAtStart.map((l) => fixed(l, 2)).join(' / ')} when the run started. Ratios are written so that above 1× means we do better.
CPU per request: "server" is our gateway + scheduler + nats-server, or Prefect's server process tree; "Postgres"
is the backends of that server's database plus Postgres' own processes. Resident memory after the rounds: ours
${fixed(result.rssAfterBytes.ours / 1024 ** 2, 0)} MiB (gateway + scheduler), Prefect ${fixed(result.rssAfterBytes.Prefect / 1024 ** 2, 0)} MiB.

**Idle polls.** Pollers poll back to back with the stock worker's request (\`POST /work_pools/{name}/get_scheduled_flow_runs\`,
\`{"scheduled_before": str(now + ${COMPARE.prefetchSeconds} s), "work_queue_names": [the pool's queues]}\`, \`X-Prefect-Worker-Name\`), poller *i* on pool
*i* mod 4, while nothing is due; ${COMPARE.idleWarmupSeconds} s warm-up, ${COMPARE.idleMeasureSeconds} s measured.

${table(
  [
    'Pollers',
    'polls/s ours',
    'Prefect',
    'ratio',
    'p50 ours',
    'Prefect',
    'p99 ours',
    'Prefect',
    'ratio (p99)',
    'CPU per poll ours: server + Postgres',
    'Prefect',
    'ratio',
    'load ours',
    'load Prefect',
  ],
  idle.map(([o, p, label]) => [
    label,
    fixed(o.perSecond, 0),
    fixed(p.perSecond, 0),
    ratio(o.perSecond, p.perSecond),
    ms(o.latency.p50),
    ms(p.latency.p50),
    ms(o.latency.p99),
    ms(p.latency.p99),
    ratio(p.latency.p99, o.latency.p99),
    `${ms(o.serverCpuMsPerPoll)} + ${ms(o.postgresCpuMsPerPoll)}`,
    `${ms(p.serverCpuMsPerPoll)} + ${ms(p.postgresCpuMsPerPoll)}`,
    ratio(p.serverCpuMsPerPoll + p.postgresCpuMsPerPoll, o.serverCpuMsPerPoll + o.postgresCpuMsPerPoll),
    load(o),
    load(p),
  ]),
)}

Failed polls: ours ${result.idle.filter((r) => r.server === 'ours').reduce((sum, r) => sum + r.failed, 0)}, Prefect ${result.idle.filter((r) => r.server === 'Prefect').reduce((sum, r) => sum + r.failed, 0)}; runs handed out by idle polls: ours ${result.idle.filter((r) => r.server === 'ours').reduce((sum, r) => sum + r.runsHandedOut, 0)}, Prefect ${result.idle.filter((r) => r.server === 'Prefect').reduce((sum, r) => sum + r.runsHandedOut, 0)}.

**Dispatch, from due to claimed.** The dispatch round of \`--dispatch\` (bench/dispatch.ts), run against each server:
${COMPARE.dispatchRuns.toLocaleString('en')} runs created due now through the bulk route before the round (round-robin over the queues of the pools
served: worker *i* serves pool *i* mod 4), then the workers start; each polls as above and proposes PENDING for every
run it got, concurrently, with the body of Prefect's \`propose_state(client, Pending())\`, polling again 50 ms after an
empty answer; the round ends when every run is claimed (or after ${COMPARE.roundTimeoutMs / 1000} s). Time and CPU run from the workers' start to
the last winning claim. A duplicate is a run handed out again after it was handed out once; an ABORT is a claim
refused because another worker's won. Creating the runs is left out of the round (Prefect's server took
${fixed(result.seedSeconds.Prefect > 0 ? COMPARE.backlogRuns / result.seedSeconds.Prefect : Number.NaN, 0)} runs/s to create them):
for ours this also leaves out the scheduler's publishing of each run to the bus, which happens as the runs are created.

${table(
  [
    'Workers',
    'claimed ours',
    'Prefect',
    'runs/s ours',
    'Prefect',
    'ratio',
    'duplicates ours',
    'Prefect',
    'ABORTs ours',
    'Prefect',
    'CPU per run ours: server + Postgres',
    'Prefect',
    'ratio',
    'load ours',
    'load Prefect',
  ],
  dispatch.map(([o, p, label]) => [
    label,
    `${o.claimed}/${o.runs}`,
    `${p.claimed}/${p.runs}`,
    fixed(o.runsPerSecond, 0),
    fixed(p.runsPerSecond, 0),
    ratio(o.runsPerSecond, p.runsPerSecond),
    String(o.duplicates),
    String(p.duplicates),
    String(aborts(o.answers)),
    String(aborts(p.answers)),
    `${ms(o.serverCpuMsPerRun)} + ${ms(o.postgresCpuMsPerRun)}`,
    `${ms(p.serverCpuMsPerRun)} + ${ms(p.postgresCpuMsPerRun)}`,
    ratio(p.serverCpuMsPerRun + p.postgresCpuMsPerRun, o.serverCpuMsPerRun + o.postgresCpuMsPerRun),
    load(o),
    load(p),
  ]),
)}

Other claim answers: ${dispatch.map(([o, p]) => `${o.workers} worker${o.workers === 1 ? '' : 's'}: ours ${others(o.answers)}, Prefect ${others(p.answers)}`).join('; ')}.
A claim answered otherwise (a 5xx, or a connection reset: the server could not get a database connection in time)
leaves its run SCHEDULED; the worker's next poll gets it again, and it counts as a duplicate.
"claimed" is the runs claimed within the round, of those due; "runs/s" is that over the time to the last claim.
Sizes: \`--compare-backlog N\` (future runs), \`--compare-runs N\` (runs per dispatch round), \`--compare-repeats N\`.
${end}`;
}
