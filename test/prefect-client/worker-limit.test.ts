// A stock `prefect worker start --limit 1` takes every due run its poll returns but claims only as many as it has
// slots; Prefect's server shows the others to the next worker that polls. Here the poll leases what it returns, and
// another worker's poll that comes inside that lease is held until it ends and answered with the runs left, so they
// reach that worker at its first poll as under Prefect. Two real process workers on one pool, stock poll settings
// (query every 10 s, 7.5–13 s with jitter; prefetch 10 s).
import { ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pollLeaseMs } from '@app/domain';
import { startLiveGateway, type LiveGateway } from './live-gateway';
import { prefectEnv, runToEnd } from './prefect-process';
import { ensurePrefectVenv, venvBin } from '../../bench/prefect-venv';

const SETUP_TIMEOUT_MS = 15 * 60_000;
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

class WorkerProcess {
  output = '';
  readonly exited: Promise<number | null>;

  constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}

describe('a stock worker started with --limit leaves the runs beyond its limit to the other workers', () => {
  let live: LiveGateway;
  let home: string;
  let markers: string;
  let source: string;
  let greet: string;
  const workers: WorkerProcess[] = [];

  const run = (command: string, args: string[]) =>
    runToEnd(command, args, { env: prefectEnv(home, live.apiUrl), timeoutMs: 5 * 60_000 });

  /** The README's worker command with Prefect's default poll settings; debug logs show each poll and claim. */
  function startWorker(name: string, extraArgs: string[] = []): WorkerProcess {
    // UTC: the log lines' clock times are compared with this process's clock.
    const env = prefectEnv(home, live.apiUrl, { PREFECT_LOGGING_LEVEL: 'DEBUG', TZ: 'UTC' });
    const child = spawn(
      venvBin('prefect'),
      ['worker', 'start', '--pool', POOL, '--type', 'process', '--name', name, ...extraArgs],
      { cwd: home, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const worker = new WorkerProcess(name, child);
    workers.push(worker);
    return worker;
  }

  const workerOutput = () => workers.map((w) => `--- worker ${w.name} ---\n${w.output.slice(-6000)}`).join('\n');

  async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await check();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms\n${workerOutput()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  const stateTypes = (runIds: string[]) =>
    Promise.all(runIds.map(async (id) => (await live.gateway.get(`/flow_runs/${id}`)).body.state_type as string));

  beforeAll(async () => {
    await ensurePrefectVenv();
    // A lease longer than the other worker's start-up, so that its first poll surely comes while the limited
    // worker holds the runs it left (with the default 3.2 s lease it usually polls after the lease ended).
    live = await startLiveGateway({ DELIVERY_CLAIM_WINDOW_MS: String(LEASE_MS) });
    home = mkdtempSync(path.join(tmpdir(), 'prefect-limit-'));
    markers = mkdtempSync(path.join(tmpdir(), 'prefect-limit-markers-'));
    source = mkdtempSync(path.join(tmpdir(), 'prefect-limit-source-'));
    copyFileSync(path.join(__dirname, 'worker_flows.py'), path.join(source, 'worker_flows.py'));
    const created = await run(venvBin('prefect'), ['work-pool', 'create', POOL, '--type', 'process']);
    if (created.code !== 0) throw new Error(`work-pool create exited ${created.code}:\n${created.output}`);
    const deployed = await run(venvBin('python'), [path.join(source, 'worker_flows.py'), POOL, markers]);
    if (deployed.code !== 0) throw new Error(`deploying the flows exited ${deployed.code}:\n${deployed.output}`);
    greet = (JSON.parse(deployed.stdout.trim().split('\n').pop()!) as { greet: string }).greet;
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.stop()));
    if (live) await live.stop();
    for (const dir of [home, markers, source]) if (dir) rmSync(dir, { recursive: true, force: true });
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
        if (failed.length > 0) throw new Error(`runs ended ${failed.join(', ')}\n${workerOutput()}`);
        return types.every((type) => type === 'COMPLETED') ? true : undefined;
      },
      120_000,
    );
    // No claim was refused: no run was handed to both workers and claimed by both.
    const claims = workers.flatMap((worker) => pollsAndClaims(worker.output).filter((line) => line.claimed));
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
