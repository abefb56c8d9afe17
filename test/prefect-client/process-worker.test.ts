// The whole path, end to end, with nothing of Prefect replaced: the stock CLI creates a process pool, the Python
// SDK deploys flows from a local directory onto it, and stock `prefect worker start --type process` workers poll
// the gateway, claim runs and run them in child processes with Prefect's own flow engine, which reports states
// and logs back. The scheduler runs beside the gateway with a fast foreman, so a stopped worker's fate is visible.
import { ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expectOperation } from '../support/openapi';
import { startLiveGateway, type LiveGateway } from './live-gateway';
import { prefectEnv, runToEnd } from './prefect-process';
import { ensurePrefectVenv, venvBin } from '../../bench/prefect-venv';

const SETUP_TIMEOUT_MS = 15 * 60_000;
const POOL = 'e2e-process-pool';
const HEARTBEAT_SECONDS = 2;
const FOREMAN_LOOP_SECONDS = 1;
/** A worker silent for this long is OFFLINE (three heartbeat intervals), seen at the foreman's next pass. */
const OFFLINE_WINDOW_MS = (3 * HEARTBEAT_SECONDS + FOREMAN_LOOP_SECONDS) * 1000;

interface Deployments {
  greet: string;
  limited: string;
  flaky: string;
  parent: string;
}

/** `prefect worker start` as a child process, its output kept for the failure message. */
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

  async stop(signal: NodeJS.Signals): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

describe('stock Prefect process workers running deployed flows end to end', () => {
  let live: LiveGateway;
  let home: string;
  let markers: string;
  /** Where the flows are deployed from: a copy of worker_flows.py, so nothing is written into the repository. */
  let source: string;
  let deployments: Deployments;
  const workers: WorkerProcess[] = [];

  const run = (command: string, args: string[]) =>
    runToEnd(command, args, { env: prefectEnv(home, live.apiUrl), timeoutMs: 5 * 60_000 });

  /** The README's worker command, with short poll and heartbeat intervals to keep the suite fast. */
  function startWorker(name: string): WorkerProcess {
    const env = prefectEnv(home, live.apiUrl, {
      PREFECT_WORKER_QUERY_SECONDS: '1',
      PREFECT_WORKER_PREFETCH_SECONDS: '2',
      PREFECT_WORKER_HEARTBEAT_SECONDS: String(HEARTBEAT_SECONDS),
    });
    const child = spawn(venvBin('prefect'), ['worker', 'start', '--pool', POOL, '--type', 'process', '--name', name], {
      cwd: home,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const worker = new WorkerProcess(name, child);
    workers.push(worker);
    return worker;
  }

  const workerOutput = () => workers.map((w) => `--- worker ${w.name} ---\n${w.output.slice(-4000)}`).join('\n');

  /** Polls `check` until it returns a value (not undefined) or the time is up. */
  async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await check();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms\n${workerOutput()}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  async function createRun(deploymentId: string, parameters: Record<string, unknown> = {}): Promise<string> {
    const response = await live.gateway.post(`/deployments/${deploymentId}/create_flow_run`, { parameters });
    expect(response.status).toBe(201);
    return response.body.id as string;
  }

  /** Resolves once every run is in a final state; fails on any final state other than COMPLETED. */
  function allCompleted(runIds: string[], timeoutMs: number): Promise<void> {
    return eventually(
      'every run COMPLETED',
      async () => {
        const states = await Promise.all(
          runIds.map(async (id) => (await live.gateway.get(`/flow_runs/${id}`)).body.state_type as string),
        );
        const failed = states.filter((type) => ['FAILED', 'CRASHED', 'CANCELLED'].includes(type));
        if (failed.length > 0) throw new Error(`runs ended ${failed.join(', ')}\n${workerOutput()}`);
        return states.every((type) => type === 'COMPLETED') ? true : undefined;
      },
      timeoutMs,
    ).then(() => undefined);
  }

  const historyOf = async (runId: string) =>
    (await live.gateway.db.repos.flowRunStates.historyOf(runId)).map((state) => `${state.type}/${state.name}`);

  /** The pids that executed the run's flow body, one per execution. */
  const executionsOf = (runId: string): string[] =>
    readFileSync(path.join(markers, runId), 'utf8').split('\n').filter(Boolean);

  async function logMessages(runId: string): Promise<string[]> {
    const response = await live.gateway.post('/logs/filter', { logs: { flow_run_id: { any_: [runId] } } });
    expect(response.status).toBe(200);
    return (response.body as { message: string }[]).map((log) => log.message);
  }

  beforeAll(async () => {
    await ensurePrefectVenv();
    live = await startLiveGateway({
      FOREMAN_LOOP_SECONDS: String(FOREMAN_LOOP_SECONDS),
      DEPLOYMENT_CONCURRENCY_SLOT_WAIT_SECONDS: '1',
    });
    home = mkdtempSync(path.join(tmpdir(), 'prefect-worker-'));
    markers = mkdtempSync(path.join(tmpdir(), 'prefect-worker-markers-'));
    source = mkdtempSync(path.join(tmpdir(), 'prefect-worker-source-'));
    copyFileSync(path.join(__dirname, 'worker_flows.py'), path.join(source, 'worker_flows.py'));

    const created = await run(venvBin('prefect'), ['work-pool', 'create', POOL, '--type', 'process']);
    if (created.code !== 0) throw new Error(`work-pool create exited ${created.code}:\n${created.output}`);
    const deployed = await run(venvBin('python'), [path.join(source, 'worker_flows.py'), POOL, markers]);
    if (deployed.code !== 0) throw new Error(`deploying the flows exited ${deployed.code}:\n${deployed.output}`);
    deployments = JSON.parse(deployed.stdout.trim().split('\n').pop()!) as Deployments;
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.stop('SIGKILL')));
    if (live) await live.stop();
    for (const dir of [home, markers, source]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the pool was created by the CLI as a process pool, and the flows deployed onto it from a local directory', async () => {
    expect((await live.gateway.get(`/work_pools/${POOL}`)).body).toMatchObject({
      type: 'process',
      status: 'NOT_READY',
    });
    const greet = (await live.gateway.get(`/deployments/${deployments.greet}`)).body;
    expect(greet).toMatchObject({ work_pool_name: POOL, entrypoint: 'worker_flows.py:greet' });
    expect(greet.pull_steps).toEqual([{ 'prefect.deployments.steps.set_working_directory': { directory: source } }]);
    // `DeploymentResponse.concurrency_limit` is always null in Prefect 3; the stored limit is what the rules read.
    expect(await live.gateway.db.repos.deployments.findById(deployments.limited)).toMatchObject({
      concurrency_limit: 1,
    });
  });

  it("two workers on the pool run every run to COMPLETED exactly once, and the flows' logs are stored", async () => {
    const runIds = await Promise.all(
      [1, 2, 3, 4, 5, 6].map((n) => createRun(deployments.greet, { n, marker_dir: markers })),
    );
    startWorker('worker-a');
    startWorker('worker-b');
    await allCompleted(runIds, 120_000);

    for (const [index, runId] of runIds.entries()) {
      expect(executionsOf(runId)).toHaveLength(1);
      const history = await historyOf(runId);
      expect(history.filter((state) => state === 'PENDING/Pending')).toHaveLength(1);
      expect(history.filter((state) => state.startsWith('RUNNING/'))).toHaveLength(1);
      expect(history.slice(-2)).toEqual(['RUNNING/Running', 'COMPLETED/Completed']);
      const run = (await live.gateway.get(`/flow_runs/${runId}`)).body;
      expect(run.labels['prefect.worker.name']).toMatch(/^worker-[ab]$/);
      expect(run.run_count).toBe(1);
      // The flow's own log line (get_run_logger), the engine's and the worker's, all sent by Prefect's log handler.
      const messages = await eventually(
        'the flow run logs',
        async () => {
          const found = await logMessages(runId);
          return found.includes('Finished in state Completed()') ? found : undefined;
        },
        15_000,
      );
      expect(messages).toEqual(
        expect.arrayContaining([
          `greeting number ${index + 1} from the worker flow`,
          expect.stringMatching(/^Beginning flow run/),
        ]),
      );
      expect(messages.some((message) => message.includes(`submitting flow run '${runId}'`))).toBe(true);
    }
    // The flow's `@task` ran inside Prefect's engine, which reports task runs only as events on /api/events/in.
    for (const runId of runIds) {
      const tasks = await eventually(
        "the greet flow's task run, COMPLETED",
        async () => {
          const found = await live.gateway.post('/task_runs/filter', { flow_runs: { id: { any_: [runId] } } });
          expectOperation(found, 'POST', '/task_runs/filter', 200);
          return found.body.length === 1 && found.body[0].state_type === 'COMPLETED'
            ? (found.body as Record<string, unknown>[])
            : undefined;
        },
        15_000,
      );
      expect(tasks[0]).toMatchObject({
        flow_run_id: runId,
        state_name: 'Completed',
        run_count: 1,
        state: { type: 'COMPLETED', state_details: { flow_run_id: runId } },
      });
      expect(tasks[0].name).toMatch(/^double-/);
      const history = await live.gateway.db.repos.taskRunStates.historyOf(tasks[0].id as string);
      expect(history.map((state) => state.type)).toEqual(['PENDING', 'RUNNING', 'COMPLETED']);
    }
    // Neither the workers nor the flow runs' engines (whose output the process workers pass on) lost events.
    const everything = workers.map((worker) => worker.output).join('\n');
    expect(everything).toContain('Beginning flow run');
    expect(everything).not.toContain('event data (including task run data) may be lost');
    const both = await live.gateway.post(`/work_pools/${POOL}/workers/filter`, {});
    expect(
      both.body.map((worker: { name: string; status: string }) => `${worker.name}/${worker.status}`).sort(),
    ).toEqual(['worker-a/ONLINE', 'worker-b/ONLINE']);
    expect((await live.gateway.get(`/work_pools/${POOL}`)).body.status).toBe('READY');
    expect(readdirSync(markers).sort()).toEqual([...runIds].sort());
  }, 180_000);

  it('a run whose deployment is at its concurrency limit waits as AwaitingConcurrencySlot, then completes after the other', async () => {
    const [first, second] = await Promise.all(
      [1, 2].map((n) => createRun(deployments.limited, { n, marker_dir: markers, hold_seconds: 2 })),
    );
    await allCompleted([first, second], 120_000);

    const histories = await Promise.all([first, second].map(historyOf));
    const waited = histories.filter((history) => history.includes('SCHEDULED/AwaitingConcurrencySlot'));
    expect(waited.length).toBeGreaterThanOrEqual(1);
    for (const history of histories) expect(history.filter((state) => state === 'PENDING/Pending')).toHaveLength(1);
    // The limit held: one run's RUNNING..COMPLETED span ends before the other's starts.
    const spans = await Promise.all(
      [first, second].map(async (id) => {
        const run = (await live.gateway.get(`/flow_runs/${id}`)).body;
        return { start: Date.parse(run.start_time as string), end: Date.parse(run.end_time as string) };
      }),
    );
    spans.sort((a, b) => a.start - b.start);
    expect(spans[1].start).toBeGreaterThanOrEqual(spans[0].end);
    expect(await live.gateway.db.repos.deploymentConcurrencyLeases.countLive(deployments.limited)).toBe(0);
    for (const id of [first, second]) expect(executionsOf(id)).toHaveLength(1);
  }, 150_000);

  it('a flow that fails once with retries=1 completes on its in-process retry', async () => {
    const runId = await createRun(deployments.flaky, { marker_dir: markers });
    await allCompleted([runId], 90_000);

    const executions = executionsOf(runId);
    expect(executions).toHaveLength(2);
    expect(new Set(executions).size).toBe(1);
    const history = await historyOf(runId);
    expect(history.filter((state) => state === 'PENDING/Pending')).toHaveLength(1);
    expect(history.slice(-4)).toEqual([
      'RUNNING/Running',
      'SCHEDULED/AwaitingRetry',
      'RUNNING/Running',
      'COMPLETED/Completed',
    ]);
    expect((await live.gateway.get(`/flow_runs/${runId}`)).body.run_count).toBe(2);
    const messages = await eventually(
      'the retry logs',
      async () => {
        const found = await logMessages(runId);
        return found.includes('flaky attempt 2') ? found : undefined;
      },
      15_000,
    );
    expect(messages).toEqual(expect.arrayContaining(['flaky attempt 1', 'flaky attempt 2']));
  }, 120_000);

  it('a flow that starts a deployment run (run_deployment) gets a task run for it, and the subflow completes too', async () => {
    const parentRunId = await createRun(deployments.parent, { marker_dir: markers });
    await allCompleted([parentRunId], 90_000);
    const children = await live.gateway.post('/flow_runs/filter', {
      flow_runs: { parent_flow_run_id: { any_: [parentRunId] } },
    });
    expect(children.body).toEqual([
      expect.objectContaining({ deployment_id: deployments.greet, parameters: { n: 100, marker_dir: markers } }),
    ]);
    const child = children.body[0];
    // The engine created the parent's task run through POST /task_runs/ (Prefect's run_deployment does).
    const task = await live.gateway.get(`/task_runs/${child.parent_task_run_id}`);
    expect(task.body).toMatchObject({ flow_run_id: parentRunId, state_type: 'PENDING' });
    expect(task.body.task_key).toMatch(/run_deployment/);
    await eventually(
      "the parent run's log line",
      async () => ((await logMessages(parentRunId)).includes(`started child flow run ${child.id}`) ? true : undefined),
      15_000,
    );
    await allCompleted([child.id], 90_000);
    expect(executionsOf(child.id)).toHaveLength(1);
  }, 150_000);

  it('stopped workers (SIGTERM, SIGINT) go OFFLINE and the pool NOT_READY within the foreman window', async () => {
    const [first, second] = workers;
    const codes = await Promise.all([first.stop('SIGTERM'), second.stop('SIGINT')]);
    const stoppedAt = Date.now();
    expect(first.output).toContain(`Worker '${first.name}' stopped!`);
    expect(codes.every((code) => code !== null)).toBe(true);

    const statuses = async () => {
      const pool = (await live.gateway.get(`/work_pools/${POOL}`)).body.status as string;
      const listed = await live.gateway.post(`/work_pools/${POOL}/workers/filter`, {});
      return { pool, workers: listed.body.map((worker: { status: string }) => worker.status) as string[] };
    };
    expect(await statuses()).toMatchObject({ pool: 'READY' });
    const final = await eventually(
      'OFFLINE workers and a NOT_READY pool',
      async () => {
        const now = await statuses();
        return now.pool === 'NOT_READY' && now.workers.every((status) => status === 'OFFLINE') ? now : undefined;
      },
      OFFLINE_WINDOW_MS + 5_000,
    );
    expect(final).toEqual({ pool: 'NOT_READY', workers: ['OFFLINE', 'OFFLINE'] });
    // Three heartbeat intervals of silence, then at most one foreman pass (plus our polling) after that.
    expect(Date.now() - stoppedAt).toBeLessThanOrEqual(OFFLINE_WINDOW_MS + 3_000);
  }, 60_000);
});
