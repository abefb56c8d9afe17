// A stock `prefect worker start --type process` notices a cancelled run at once through `/api/events/out`: its
// cancelling observer subscribes to `prefect.flow-run.Cancelling` events of its pool, and without the websocket it
// falls back to polling every `PREFECT_WORKER_CANCELLATION_POLL_SECONDS` (120 s by default). The run is cancelled
// as `prefect flow-run cancel` cancels it (a CANCELLING state through `set_state`), and the flow's process must
// be stopped within seconds, the run ending CANCELLED.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { WORKER_SETUP_TIMEOUT_MS, WorkerFixture, type WorkerProcess } from './prefect-worker';

const POOL = 'cancel-pool';
/**
 * What "at once" allows: the worker's SIGTERM and the flow process's own shutdown (2-4 s here, as under Prefect's
 * server), on a busy 2-core machine. Without the websocket the worker would poll every 120 s; the flow process's own
 * observer polls every 10 s, so the log check below is what tells the two apart for certain.
 */
const STOPPED_WITHIN_MS = 8000;
/** The worker's log line when its observer cannot open `/api/events/out` (Prefect's `ObservationDelivery`). */
const NOT_CONNECTED = /failed to connect to the events stream/;

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
  let fixture: WorkerFixture;
  let live: WorkerFixture['live'];
  let markers: string;
  let worker: WorkerProcess;

  const eventually = <T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs: number) =>
    fixture.eventually(what, check, timeoutMs, 50);

  beforeAll(async () => {
    fixture = await WorkerFixture.start({ pool: POOL, prefix: 'prefect-cancel', createPool: 'script' });
    ({ live, markers } = fixture);
    // Stock settings but for a fast poll; the cancellation poll keeps its default (120 s).
    worker = fixture.startWorker('w1', {
      env: { PREFECT_WORKER_QUERY_SECONDS: '1', PREFECT_WORKER_PREFETCH_SECONDS: '2' },
    });
  }, WORKER_SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await fixture?.stop();
  });

  it('stops the flow process within seconds of CANCELLING and the run ends CANCELLED, the observer on the websocket', async () => {
    const created = await live.gateway.post(`/deployments/${fixture.deployments.greet}/create_flow_run`, {
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
    expect(worker.output).not.toMatch(NOT_CONNECTED);
    expect(stoppedAfterMs).toBeLessThan(STOPPED_WITHIN_MS);
  }, 600_000);
});
