// The `prefect` CLI commands that failed against the gateway for want of a route: `deployment inspect`
// (automations related to the deployment), `work-queue delete` (by id), `work-queue read-runs` and the `slots`
// commands of pools and queues. Each runs the real CLI (Prefect 3.9.1) against the gateway over HTTP.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { waitFor } from '../support/delivery';
import { startLiveGateway, type LiveGateway } from './live-gateway';
import { prefectEnv, runToEnd } from './prefect-process';
import { ensurePrefectVenv, venvBin } from '../../bench/prefect-venv';

const SETUP_TIMEOUT_MS = 15 * 60_000;
const CLI_TIMEOUT_MS = 90_000;

jest.setTimeout(3 * CLI_TIMEOUT_MS);

describe('prefect CLI commands that need the newer routes', () => {
  let live: LiveGateway;
  let home: string;
  let flowId: string;

  /** Runs `prefect ...`; a non-zero exit fails the test with the command's output. */
  async function prefect(args: string[]): Promise<string> {
    const { code, output } = await runToEnd(venvBin('prefect'), args, {
      env: prefectEnv(home, live.apiUrl),
      timeoutMs: CLI_TIMEOUT_MS,
    });
    if (code !== 0) throw new Error(`prefect ${args.join(' ')} exited ${code}:\n${output.slice(-4000)}`);
    return output;
  }

  const api = () => live.gateway;

  async function pool(name: string, settings: Record<string, unknown> = {}): Promise<{ id: string }> {
    const response = await api().post('/work_pools/', { name, type: 'process', ...settings });
    expect(response.status).toBe(201);
    return response.body;
  }

  async function queue(poolName: string, name: string, settings: Record<string, unknown> = {}): Promise<string> {
    const response = await api().post(`/work_pools/${poolName}/queues`, { name, ...settings });
    expect(response.status).toBe(201);
    return response.body.id;
  }

  async function run(poolName: string, queueName: string, state: Record<string, unknown> = { type: 'SCHEDULED' }) {
    const response = await api().post('/flow_runs/', {
      flow_id: flowId,
      work_pool_name: poolName,
      work_queue_name: queueName,
      state,
    });
    expect(response.status).toBe(201);
    return response.body as { id: string; name: string };
  }

  beforeAll(async () => {
    await ensurePrefectVenv();
    live = await startLiveGateway({ FOREMAN_ENABLED: 'false', LATE_RUNS_ENABLED: 'false' });
    home = mkdtempSync(path.join(tmpdir(), 'prefect-home-'));
    flowId = (await api().post('/flows/', { name: 'cli-flow' })).body.id;
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    if (live) await live.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('prefect deployment inspect <flow>/<deployment>', async () => {
    await pool('inspect-pool');
    const created = await api().post('/deployments/', {
      flow_id: flowId,
      name: 'inspected',
      work_pool_name: 'inspect-pool',
    });
    expect(created.status).toBe(201);
    const output = await prefect(['deployment', 'inspect', 'cli-flow/inspected', '--output', 'json']);
    const shown = JSON.parse(output.slice(output.indexOf('{')));
    expect(shown).toMatchObject({ id: created.body.id, name: 'inspected', automations: [] });
  });

  it('prefect work-queue delete <name> --pool <pool>', async () => {
    await pool('delete-pool');
    const queueId = await queue('delete-pool', 'to-delete');
    const output = await prefect(['work-queue', 'delete', 'to-delete', '--pool', 'delete-pool']);
    expect(output).toContain("Successfully deleted work queue 'to-delete' in work pool 'delete-pool'");
    expect((await api().get(`/work_queues/${queueId}`)).status).toBe(404);
  });

  it('prefect work-queue read-runs <name> --pool <pool>: the runs, leased from other pollers, and a recorded poll', async () => {
    await pool('read-pool');
    const queueId = await queue('read-pool', 'read-queue');
    const runs = [await run('read-pool', 'read-queue'), await run('read-pool', 'read-queue')];
    // The scheduler puts due runs on the bus; read-runs takes them from there, as a poll would.
    await waitFor('the runs on the bus', async () => {
      const rows = await Promise.all(runs.map((r) => api().db.repos.flowRuns.findById(r.id)));
      return rows.every((row) => row?.dispatch_seq != null);
    });
    const output = await prefect(['work-queue', 'read-runs', 'read-queue', '--pool', 'read-pool']);
    expect(output).toContain("Read 2 runs for work queue 'read-queue' in work pool read-pool");
    for (const r of runs) expect(output).toContain(r.id);
    const poll = await api().post('/work_pools/read-pool/get_scheduled_flow_runs', {});
    expect(poll.body).toEqual([]);
    await waitFor('the poll recorded', async () => {
      const read = (await api().get(`/work_queues/${queueId}`)).body;
      return read.status === 'READY' && read.last_polled !== null;
    });
  });

  it('prefect work-pool slots <pool> and prefect work-queue slots <name> --pool <pool>', async () => {
    await pool('slots-pool', { concurrency_limit: 4 });
    const queueId = await queue('slots-pool', 'slots-queue', { concurrency_limit: 2 });
    const running = await run('slots-pool', 'slots-queue', { type: 'RUNNING' });
    await run('slots-pool', 'slots-queue', { type: 'COMPLETED' });

    const poolOutput = await prefect(['work-pool', 'slots', 'slots-pool', '--output', 'json']);
    const poolStatus = JSON.parse(poolOutput.slice(poolOutput.indexOf('{')));
    expect(poolStatus).toMatchObject({ active_slots: 1, concurrency_limit: 4 });
    const shownQueue = poolStatus.queues.find((q: { queue_name: string }) => q.queue_name === 'slots-queue');
    expect(shownQueue).toMatchObject({ queue_id: queueId, active_slots: 1, concurrency_limit: 2 });
    expect(shownQueue.flow_runs.map((r: { id: string }) => r.id)).toEqual([running.id]);

    const queueOutput = await prefect([
      'work-queue',
      'slots',
      'slots-queue',
      '--pool',
      'slots-pool',
      '--output',
      'json',
    ]);
    const queueStatus = JSON.parse(queueOutput.slice(queueOutput.indexOf('{')));
    expect(queueStatus).toMatchObject({ active_slots: 1, concurrency_limit: 2, count: 1 });
    expect(queueStatus.flow_runs.map((r: { id: string }) => r.id)).toEqual([running.id]);

    // The tables render too.
    expect(await prefect(['work-pool', 'slots', 'slots-pool'])).toContain('slots-queue');
    expect(await prefect(['work-queue', 'slots', 'slots-queue', '--pool', 'slots-pool'])).toContain(running.name);
  });
});
