// A stock `prefect worker start --limit 1` takes every due run its poll returns but claims only as many as it has
// slots; Prefect's server shows the others to the next worker that polls. Here the poll leases what it returns, and
// another worker's poll that comes inside that lease is held until it ends and answered with the runs left, so they
// reach that worker at its first poll as under Prefect. Two real process workers on one pool, stock poll settings
// (query every 10 s, 7.5–13 s with jitter; prefetch 10 s).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pollLeaseMs } from '@app/domain';
import { WORKER_SETUP_TIMEOUT_MS, WorkerFixture } from './prefect-worker';

const POOL = 'limit-pool';
const RUNS = 4;
const LEASE_MS = 15_000;
/** From a stock worker's poll to its claims of what it took (a few runs; 0.5–0.7 s measured here). */
const CLAIM_SLACK_MS = 3_000;

/** The worker's debug lines about its polls and claims, with their clock time (ms since midnight, UTC). */
function pollsAndClaims(output: string): { at: number; discovered?: number; claimed?: string; won?: boolean }[] {
  const lines = output.matchAll(
    /^(\d\d):(\d\d):(\d\d)\.(\d{3}) \| DEBUG .* - (?:Discovered (\d+) scheduled_flow_runs|Ready to submit ([0-9a-f-]{36}): (True|False))/gm,
  );
  return [...lines].map(([, h, m, s, ms, discovered, claimed, won]) => ({
    at: ((Number(h) * 60 + Number(m)) * 60 + Number(s)) * 1000 + Number(ms),
    ...(discovered !== undefined ? { discovered: Number(discovered) } : { claimed, won: won === 'True' }),
  }));
}

describe('a stock worker started with --limit leaves the runs beyond its limit to the other workers', () => {
  let fixture: WorkerFixture;
  let live: WorkerFixture['live'];
  let markers: string;
  let greet: string;

  /** The README's worker command with Prefect's default poll settings; debug logs show each poll and claim. */
  const startWorker = (name: string, args: string[] = []) =>
    // UTC: the log lines' clock times are compared with this process's clock.
    fixture.startWorker(name, { env: { PREFECT_LOGGING_LEVEL: 'DEBUG', TZ: 'UTC' }, args });

  const eventually = <T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number): Promise<T> =>
    fixture.eventually(what, check, timeoutMs, 100);

  const stateTypes = (runIds: string[]) =>
    Promise.all(runIds.map(async (id) => (await live.gateway.get(`/flow_runs/${id}`)).body.state_type as string));

  beforeAll(async () => {
    // A lease longer than the other worker's start-up, so that its first poll surely comes while the limited
    // worker holds the runs it left (with the default 3.2 s lease it usually polls after the lease ended).
    fixture = await WorkerFixture.start({
      pool: POOL,
      prefix: 'prefect-limit',
      createPool: 'script',
      settings: { DELIVERY_CLAIM_WINDOW_MS: String(LEASE_MS) },
    });
    ({ live, markers } = fixture);
    greet = fixture.deployments.greet;
  }, WORKER_SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await fixture?.stop();
  });

  it(`${RUNS} runs due at once: the limited worker claims one, the other worker gets the rest within the bound, each run completes once`, async () => {
    const runIds = await Promise.all(
      Array.from({ length: RUNS }, async (_, n) => {
        const response = await live.gateway.post(`/deployments/${greet}/create_flow_run`, {
          parameters: { n, marker_dir: markers },
        });
        expect(response.status).toBe(201);
        return response.body.id as string;
      }),
    );
    const limited = startWorker('limited', ['--limit', '1']);
    // The limited worker's first poll returns all the runs; it claims one and leaves the others.
    await eventually(
      'the limited worker claims a run',
      async () => ((await stateTypes(runIds)).some((type) => type !== 'SCHEDULED') ? true : undefined),
      120_000,
    );
    const firstClaimAt = Date.now();
    expect(limited.output).toMatch(new RegExp(`Discovered ${RUNS} scheduled_flow_runs`));
    expect((await stateTypes(runIds)).filter((type) => type === 'SCHEDULED')).toHaveLength(RUNS - 1);

    const other = startWorker('other');
    const pickedUpAt = new Map<string, number>();
    await eventually(
      'every run picked up',
      async () => {
        const types = await stateTypes(runIds);
        types.forEach((type, i) => {
          if (type !== 'SCHEDULED' && !pickedUpAt.has(runIds[i])) pickedUpAt.set(runIds[i], Date.now());
        });
        return pickedUpAt.size === RUNS ? true : undefined;
      },
      120_000,
    );
    // The limited worker's later polls are shown the runs it left without leasing them again, so only its first
    // poll's lease holds them back from the other worker.
    const midnight = new Date(firstClaimAt).setUTCHours(0, 0, 0, 0);
    const limitedLog = pollsAndClaims(limited.output);
    const firstPoll = limitedLog.find((line) => line.discovered === RUNS)!;
    const ownClaim = limitedLog.find((line) => line.claimed !== undefined)!;
    const otherFirstPoll = pollsAndClaims(other.output).find((line) => line.discovered !== undefined)!;
    const lastPickedUpAt = Math.max(...pickedUpAt.values());
    process.stdout.write(
      `${JSON.stringify({
        limitedWorkerPollToClaimMs: ownClaim.at - firstPoll.at,
        otherWorkerFirstPollAfterFirstClaimMs: otherFirstPoll.at + midnight - firstClaimAt,
        otherWorkerFirstPollFound: otherFirstPoll.discovered,
        lastPickedUpAfterFirstClaimMs: lastPickedUpAt - firstClaimAt,
      })}\n`,
    );
    expect(ownClaim.won).toBe(true);
    // As under Prefect, the other worker's first poll gets what the limited worker left: a poll that comes inside
    // the limited worker's lease is held until that lease ends and answered with those runs,
    // rather than answered empty and followed by the next poll up to 13 s later.
    const { claimWindowMs, claimWindowPerRunMs: perRunMs, leaseSeconds: maxSeconds } = live.gateway.config.dispatch;
    const leaseEnd = firstPoll.at + pollLeaseMs(RUNS, { claimWindowMs, perRunMs, maxSeconds });
    process.stdout.write(
      `${JSON.stringify({ otherWorkerFirstAnswerAfterLeaseEndMs: otherFirstPoll.at - leaseEnd })}\n`,
    );
    expect(otherFirstPoll.discovered).toBe(RUNS - 1);
    expect(lastPickedUpAt - (otherFirstPoll.at + midnight)).toBeLessThan(CLAIM_SLACK_MS);

    await eventually(
      'every run COMPLETED',
      async () => {
        const types = await stateTypes(runIds);
        const failed = types.filter((type) => ['FAILED', 'CRASHED', 'CANCELLED'].includes(type));
        if (failed.length > 0) throw new Error(`runs ended ${failed.join(', ')}\n${fixture.workerOutput()}`);
        return types.every((type) => type === 'COMPLETED') ? true : undefined;
      },
      120_000,
    );
    // No claim was refused: no run was handed to both workers and claimed by both.
    const claims = fixture.workers.flatMap((worker) => pollsAndClaims(worker.output).filter((line) => line.claimed));
    expect(claims.filter((line) => !line.won)).toEqual([]);
    expect(claims.map((line) => line.claimed).sort()).toEqual([...runIds].sort());
    for (const runId of runIds) {
      // One execution of the flow body, one claim in the run's history.
      expect(readFileSync(path.join(markers, runId), 'utf8').split('\n').filter(Boolean)).toHaveLength(1);
      const history = await live.gateway.db.repos.flowRunStates.historyOf(runId);
      expect(history.filter((state) => state.name === 'Pending')).toHaveLength(1);
    }
  }, 300_000);
});
