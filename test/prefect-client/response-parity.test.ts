// Prefect's own Python client reads back what used to differ from Prefect 3.9.1's answers (issue 12). The same
// script, run against Prefect's server, prints the same values (ids aside).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startLiveGateway, type LiveGateway } from './live-gateway';
import { prefectEnv, runToEnd } from './prefect-process';
import { ensurePrefectVenv, venvBin } from '../../bench/prefect-venv';

const SETUP_TIMEOUT_MS = 15 * 60_000;
const SCRIPT = path.join(__dirname, 'response_parity.py');

describe('the real Prefect client reads answers shaped as Prefect 3.9.1 shapes them', () => {
  let live: LiveGateway;
  let home: string;

  beforeAll(async () => {
    await ensurePrefectVenv();
    live = await startLiveGateway();
    home = mkdtempSync(path.join(tmpdir(), 'prefect-home-'));
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    if (live) await live.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('queue description, global_concurrency_limit, default-agent-pool, job variables and the polled state', async () => {
    const { code, stdout, output } = await runToEnd(venvBin('python'), [SCRIPT], {
      env: prefectEnv(home, live.apiUrl),
      timeoutMs: 120_000,
    });
    if (code !== 0) throw new Error(`response_parity.py exited ${code}:\n${output.slice(-6000)}`);
    const seen = JSON.parse(stdout.trim().split('\n').pop() ?? '{}');
    expect(seen).toEqual({
      queue_description: '',
      global_concurrency_limit: { name: expect.stringMatching(/^deployment:/), limit: 3, active_slots: 0 },
      legacy_work_pool_name: 'default-agent-pool',
      created_job_variables: {},
      polled_state: { type: 'SCHEDULED', id: seen.polled_state_id },
      polled_state_id: expect.any(String),
    });
  }, 180_000);
});
