// Prefect's own flow engine (pinned version, cached virtualenv) runs a claimed deployment run against the gateway:
// it renews the run's deployment concurrency lease through our lease route, keeps the slot across an in-process
// retry, and gives it back when the run completes.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConcurrencyLeaseService } from '../../apps/gateway/src/concurrency-leases/concurrency-lease.service';
import { startLiveGateway, type LiveGateway } from './live-gateway';
import { ensurePrefectVenv, venvBin } from '../../bench/prefect-venv';

const SETUP_TIMEOUT_MS = 15 * 60_000;
const RUN_TIMEOUT_MS = 90_000;
const PREFECT_CLIENT = { 'user-agent': 'prefect/3.9.1 (API 0.8.4)' };

describe('the real Prefect engine under a deployment concurrency limit', () => {
  let live: LiveGateway;
  let home: string;

  beforeAll(async () => {
    await ensurePrefectVenv();
    live = await startLiveGateway();
    home = mkdtempSync(path.join(tmpdir(), 'prefect-engine-'));
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await live?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  /** Runs the flow; resolves to its exit code, what it printed (the final state) and its logs. */
  function runFlow(flowRunId: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const env = {
        PATH: process.env.PATH,
        HOME: home,
        PREFECT_HOME: home,
        PREFECT_API_URL: live.apiUrl,
        DO_NOT_TRACK: '1',
        PYTHONUNBUFFERED: '1',
      };
      const child = spawn(venvBin('python'), [path.join(__dirname, 'limited_flow.py'), flowRunId], { cwd: home, env });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', reject);
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
  }

  it(
    'renews the lease, keeps the slot through an in-process retry and frees it on completion',
    async () => {
      const gw = live.gateway;
      const leases = gw.app.get(ConcurrencyLeaseService);
      const renew = leases.renew.bind(leases);
      /** Each renewal: when the service answered it, and whether it renewed. */
      const renewed: { at: number; ok: boolean }[] = [];
      const renewals = jest.spyOn(leases, 'renew').mockImplementation(async (...args) => {
        try {
          await renew(...args);
          renewed.push({ at: Date.now(), ok: true });
        } catch (error) {
          renewed.push({ at: Date.now(), ok: false });
          throw error;
        }
      });
      const flowId = (await gw.post('/flows/', { name: 'limited' })).body.id as string;
      const deploymentId = (await gw.post('/deployments/', { name: 'limited', flow_id: flowId, concurrency_limit: 1 }))
        .body.id as string;
      const [runId, nextId] = await Promise.all(
        [1, 2].map(
          async () =>
            (await gw.post(`/deployments/${deploymentId}/create_flow_run`, { state: { type: 'SCHEDULED' } })).body
              .id as string,
        ),
      );
      const claim = await gw.request(
        'POST',
        `/flow_runs/${runId}/set_state`,
        { state: { type: 'PENDING' } },
        PREFECT_CLIENT,
      );
      const lease = claim.body.state.state_details.deployment_concurrency_lease_id as string;
      expect(lease).toEqual(expect.any(String));

      const { code, stdout, stderr } = await runFlow(runId);
      expect({ code, stderr }).toMatchObject({ code: 0 });
      expect(JSON.parse(stdout)).toEqual({ type: 'COMPLETED', name: 'Completed', attempts: 2 });
      expect(stderr).not.toContain('lease renewal failed');

      // The engine renewed the lease it got at the claim, before and after the retry, and never lost it while the
      // run held it (a renewal answered after the run completed — in flight meanwhile — may find it released: 410, as
      // Prefect answers).
      for (const [renewedLease] of renewals.mock.calls) expect(renewedLease).toBe(lease);
      const history = await gw.db.repos.flowRunStates.historyOf(runId);
      const completedAt = new Date(history[history.length - 1].timestamp).getTime();
      expect(renewals.mock.calls.length).toBeGreaterThanOrEqual(2);
      const whileHeld = renewed.filter((renewal) => renewal.at < completedAt);
      expect(whileHeld.filter((renewal) => !renewal.ok)).toEqual([]);
      expect(history.map((state) => `${state.type}/${state.name}`)).toEqual([
        'SCHEDULED/Scheduled',
        'PENDING/Pending',
        'RUNNING/Running',
        'SCHEDULED/AwaitingRetry',
        'RUNNING/Running',
        'COMPLETED/Completed',
      ]);
      expect(history.slice(1, 5).map((state) => state.state_details.deployment_concurrency_lease_id)).toEqual([
        lease,
        lease,
        lease,
        lease,
      ]);

      expect(await gw.db.repos.deploymentConcurrencyLeases.countLive(deploymentId)).toBe(0);
      expect((await gw.post(`/flow_runs/${nextId}/set_state`, { state: { type: 'PENDING' } })).body.status).toBe(
        'ACCEPT',
      );
    },
    RUN_TIMEOUT_MS,
  );
});
