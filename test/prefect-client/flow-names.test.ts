// An empty flow name, refused as Prefect refuses it: before, the gateway stored it and every `prefect flow ls`
// afterwards crashed on the client's own validation of the listed flows.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startLiveGateway, type LiveGateway } from './live-gateway';
import { prefectEnv, runToEnd } from './prefect-process';
import { ensurePrefectVenv, venvBin } from '../../bench/prefect-venv';

const SETUP_TIMEOUT_MS = 15 * 60_000;
const CLI_TIMEOUT_MS = 90_000;

const CREATE_FLOWS = `
import asyncio, httpx
from prefect.client.orchestration import get_client

async def main():
    async with get_client() as client:
        await client.create_flow_from_name("listed-flow")
        try:
            await client.create_flow_from_name("")
            print("EMPTY NAME ACCEPTED")
        except httpx.HTTPStatusError as error:
            print("EMPTY NAME REFUSED", error.response.status_code)

asyncio.run(main())
`;

describe('flow names with the real Prefect client and CLI', () => {
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

  it('the client cannot create an empty flow name (422), and `prefect flow ls` keeps working', async () => {
    const env = prefectEnv(home, live.apiUrl);
    const created = await runToEnd(venvBin('python'), ['-c', CREATE_FLOWS], { env, timeoutMs: CLI_TIMEOUT_MS });
    expect(created.stdout).toContain('EMPTY NAME REFUSED 422');

    const listed = await runToEnd(venvBin('prefect'), ['flow', 'ls'], { env, timeoutMs: CLI_TIMEOUT_MS });
    if (listed.code !== 0) throw new Error(`prefect flow ls exited ${listed.code}:\n${listed.output.slice(-4000)}`);
    expect(listed.stdout).toContain('listed-flow');
  });
});
