import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FaultProxy } from '../support/fault-proxy';
import { TestGateway } from '../support/gateway';
import { ensurePrefectVenv, venvBin } from '../../bench/prefect-venv';

/** Prefect's own client: reads a work pool, then (told to go on) reads it again and reports how long that took. */
const CLIENT = `
import asyncio, sys, time
from prefect.client.orchestration import get_client

async def main():
    async with get_client() as client:
        await client.read_work_pool("pool")
        print("ready", flush=True)
        sys.stdin.readline()
        started = time.monotonic()
        pool = await client.read_work_pool("pool")
        print("read", pool.name, round(time.monotonic() - started, 2), flush=True)

asyncio.run(main())
`;
const OUTAGE_MS = 3000;

/**
 * Issue 10: stock Prefect clients retry only 408, 429, 502 and 503. A Postgres outage answered 503 with
 * Retry-After is ridden out by Prefect's own client: its request succeeds once the database is back.
 */
describe("Prefect's client during a short Postgres outage", () => {
  let proxy: FaultProxy;
  let gw: TestGateway;
  let apiUrl: string;
  let home: string;

  beforeAll(async () => {
    await ensurePrefectVenv();
    proxy = await FaultProxy.start({ host: '127.0.0.1', port: 5432 });
    gw = await TestGateway.start({}, { databasePort: proxy.port });
    await gw.app.listen(0, '127.0.0.1');
    apiUrl = `http://127.0.0.1:${(gw.app.getHttpServer().address() as AddressInfo).port}/api`;
    home = mkdtempSync(path.join(tmpdir(), 'prefect-outage-'));
    expect((await gw.post('/work_pools/', { name: 'pool', type: 'process' })).status).toBe(201);
  }, 10 * 60_000);
  afterAll(async () => {
    proxy.restore();
    await gw.stop();
    await proxy.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('retries on 503 and gets its answer once Postgres is back', async () => {
    const env = {
      PATH: process.env.PATH,
      HOME: home,
      PREFECT_HOME: home,
      PREFECT_API_URL: apiUrl,
      DO_NOT_TRACK: '1',
      PYTHONUNBUFFERED: '1',
    };
    const child = spawn(venvBin('python'), ['-c', CLIENT], { cwd: home, env });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('ready')) resolve();
      });
      void exited.then(() => reject(new Error(`client exited early: ${stdout}${stderr}`)));
    });
    proxy.cut();
    child.stdin.write('\n');
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
    proxy.restore();
    const code = await exited;
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    const [, name, seconds] = /read (\S+) ([\d.]+)/.exec(stdout) ?? [];
    expect(name).toBe('pool');
    // It waited out the outage (retrying after each 503's Retry-After) rather than failing at once.
    expect(Number(seconds) * 1000).toBeGreaterThanOrEqual(OUTAGE_MS);
    console.log(`Prefect's client read the pool ${seconds} s after Postgres was cut off for ${OUTAGE_MS / 1000} s`);
  }, 60_000);
});
