// A stock `prefect worker start --type process` notices a cancelled run at once through `/api/events/out`: its
// cancelling observer subscribes to `prefect.flow-run.Cancelling` events of its pool, and without the websocket it
// falls back to polling every `PREFECT_WORKER_CANCELLATION_POLL_SECONDS` (120 s by default). The run is cancelled
// as `prefect flow-run cancel` cancels it (a CANCELLING state through `set_state`), and the flow's process must
// be stopped within seconds, the run ending CANCELLED.
import { ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startLiveGateway, type LiveGateway } from './live-gateway';
import { prefectEnv, runToEnd } from './prefect-process';
import { ensurePrefectVenv, venvBin } from '../../bench/prefect-venv';

const SETUP_TIMEOUT_MS = 15 * 60_000;
const POOL = 'cancel-pool';
/**
 * What "at once" allows: the worker's SIGTERM and the flow process's own shutdown (2-4 s here, as under Prefect's
 * server), on a busy 2-core machine. Without the websocket the worker would poll every 120 s; the flow process's own
 * observer polls every 10 s, so the log check below is what tells the two apart for certain.
 */
const STOPPED_WITHIN_MS = 8000;
/** The worker's log line when its observer cannot open `/api/events/out` (Prefect's `ObservationDelivery`). */
const NOT_CONNECTED = /failed to connect to the events stream/;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether a process still runs (a zombie, exited but not yet reaped by the worker, counts as stopped). */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('a stock process worker cancelling a running flow through /api/events/out', () => {
  let live: LiveGateway;
  let home: string;
  let markers: string;
  let source: string;
  let worker: ChildProcess;
  let workerOutput = '';
  let greet: string;

  const run = (command: string, args: string[]) =>
    runToEnd(command, args, { env: prefectEnv(home, live.apiUrl), timeoutMs: 5 * 60_000 });

  async function eventually<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs: number) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await check();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms\n${workerOutput.slice(-6000)}`);
      await sleep(50);
    }
  }

  beforeAll(async () => {
    await ensurePrefectVenv();
    live = await startLiveGateway();
    home = mkdtempSync(path.join(tmpdir(), 'prefect-cancel-'));
    markers = mkdtempSync(path.join(tmpdir(), 'prefect-cancel-markers-'));
    source = mkdtempSync(path.join(tmpdir(), 'prefect-cancel-source-'));
    copyFileSync(path.join(__dirname, 'worker_flows.py'), path.join(source, 'worker_flows.py'));
    const created = await run(venvBin('prefect'), ['work-pool', 'create', POOL, '--type', 'process']);
    if (created.code !== 0) throw new Error(`work-pool create exited ${created.code}:\n${created.output}`);
    const deployed = await run(venvBin('python'), [path.join(source, 'worker_flows.py'), POOL, markers]);
    if (deployed.code !== 0) throw new Error(`deploying the flows exited ${deployed.code}:\n${deployed.output}`);
    greet = (JSON.parse(deployed.stdout.trim().split('\n').pop()!) as { greet: string }).greet;

    // Stock settings but for a fast poll; the cancellation poll keeps its default (120 s).
    worker = spawn(venvBin('prefect'), ['worker', 'start', '--pool', POOL, '--type', 'process', '--name', 'w1'], {
      cwd: home,
      env: prefectEnv(home, live.apiUrl, { PREFECT_WORKER_QUERY_SECONDS: '1', PREFECT_WORKER_PREFETCH_SECONDS: '2' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    worker.stdout?.on('data', (chunk: Buffer) => (workerOutput += chunk.toString()));
    worker.stderr?.on('data', (chunk: Buffer) => (workerOutput += chunk.toString()));
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    if (worker && worker.exitCode === null && worker.signalCode === null) {
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      worker.kill('SIGKILL');
      await exited;
    }
    if (live) await live.stop();
    for (const dir of [home, markers, source]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('stops the flow process within seconds of CANCELLING and the run ends CANCELLED, the observer on the websocket', async () => {
    const created = await live.gateway.post(`/deployments/${greet}/create_flow_run`, {
      parameters: { n: 1, marker_dir: markers, hold_seconds: 600 },
    });
    expect(created.status).toBe(201);
    const runId = created.body.id as string;
    const marker = path.join(markers, runId);
    // The flow body writes its pid once it runs: that is the process the cancellation must stop.
    const pid = await eventually(
      'the flow running',
      () => (existsSync(marker) ? Number(readFileSync(marker, 'utf8').split('\n')[0]) || undefined : undefined),
      120_000,
    );
    expect(isRunning(pid)).toBe(true);
    expect((await live.gateway.get(`/flow_runs/${runId}`)).body.state_type).toBe('RUNNING');

    // What `prefect flow-run cancel` sends.
    const cancelled = await live.gateway.post(`/flow_runs/${runId}/set_state`, {
      state: { type: 'CANCELLING', name: 'Cancelling' },
      force: false,
    });
    expect(cancelled.body.status).toBe('ACCEPT');
    const cancellingAt = Date.now();
    await eventually('the flow process stopped', () => (isRunning(pid) ? undefined : true), 180_000);
    const stoppedAfterMs = Date.now() - cancellingAt;
    const final = await eventually(
      'the run CANCELLED',
      async () => {
        const type = (await live.gateway.get(`/flow_runs/${runId}`)).body.state_type as string;
        return type === 'CANCELLED' ? type : undefined;
      },
      60_000,
    );
    const cancelledAfterMs = Date.now() - cancellingAt;
    process.stdout.write(
      `worker-cancellation: flow process stopped ${stoppedAfterMs} ms after CANCELLING, run CANCELLED after ${cancelledAfterMs} ms\n`,
    );

    expect(final).toBe('CANCELLED');
    expect(workerOutput).not.toMatch(NOT_CONNECTED);
    expect(stoppedAfterMs).toBeLessThan(STOPPED_WITHIN_MS);
  }, 600_000);
});
