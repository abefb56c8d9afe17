// The gateway with an auth string, driven by the real Prefect 3.9.1 CLI, worker and events client: with
// PREFECT_API_AUTH_STRING set to it they work as against a Prefect server started with
// PREFECT_SERVER_API_AUTH_STRING; with a wrong one they are refused (401 over HTTP, the websocket's auth refused).
import { PrefectEvent } from '@app/contracts';
import { connect, NatsConnection } from '@nats-io/transport-node';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startLiveGateway, type LiveGateway } from './live-gateway';
import { prefectEnv, ProcessOutcome, runToEnd } from './prefect-process';
import { ensurePrefectVenv, venvBin } from '../../bench/prefect-venv';

const SETUP_TIMEOUT_MS = 15 * 60_000;
const CLI_TIMEOUT_MS = 90_000;
const AUTH_STRING = 'operator:correct horse battery';
const POOL = 'auth-pool';

/** Sends one event with Prefect's own events client (the one workers and flow runs use), then closes it. */
const EMIT_EVENT = `
import asyncio, sys
from prefect.events import Event
from prefect.events.clients import PrefectEventsClient

async def main():
    async with PrefectEventsClient() as client:
        await client.emit(Event(event="auth-test.ping", resource={"prefect.resource.id": sys.argv[1]}))

asyncio.run(main())
`;

describe('the real Prefect client against a gateway with API_AUTH_STRING', () => {
  let live: LiveGateway;
  let home: string;
  let nc: NatsConnection;
  const events: PrefectEvent[] = [];

  function run(command: string, args: string[], authString: string | null): Promise<ProcessOutcome> {
    const env = prefectEnv(home, live.apiUrl, authString === null ? {} : { PREFECT_API_AUTH_STRING: authString });
    return runToEnd(command, args, { env, timeoutMs: CLI_TIMEOUT_MS });
  }

  /** Runs `prefect ...` and expects it to succeed; the output names what went wrong otherwise. */
  async function prefect(args: string[], authString: string | null = AUTH_STRING): Promise<string> {
    const { code, output } = await run(venvBin('prefect'), args, authString);
    if (code !== 0) throw new Error(`prefect ${args.join(' ')} exited ${code}:\n${output.slice(-4000)}`);
    return output;
  }

  const authHeader = { authorization: `Basic ${Buffer.from(AUTH_STRING).toString('base64')}` };

  beforeAll(async () => {
    await ensurePrefectVenv();
    live = await startLiveGateway({ API_AUTH_STRING: AUTH_STRING });
    home = mkdtempSync(path.join(tmpdir(), 'prefect-home-'));
    nc = await connect({ servers: live.gateway.config.nats.url });
    nc.subscribe(`${live.gateway.config.nats.namespace}.events.auth-test.>`, {
      callback: (_error, message) => {
        events.push(message.json<PrefectEvent>());
      },
    });
    await nc.flush();
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await nc?.close();
    if (live) await live.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it(
    'work-pool create, ls and inspect work with PREFECT_API_AUTH_STRING',
    async () => {
      expect(await prefect(['work-pool', 'create', POOL, '--type', 'process'])).toContain(
        `Created work pool '${POOL}'`,
      );
      expect(await prefect(['work-pool', 'ls'])).toContain(POOL);
      expect(await prefect(['work-pool', 'inspect', POOL])).toContain(`name='${POOL}'`);
    },
    3 * CLI_TIMEOUT_MS,
  );

  it(
    'a worker with PREFECT_API_AUTH_STRING polls, heartbeats and goes ONLINE',
    async () => {
      await prefect(['worker', 'start', '--pool', POOL, '--type', 'process', '--name', 'auth-worker', '--run-once']);
      const workers = await live.gateway.request('POST', `/work_pools/${POOL}/workers/filter`, {}, authHeader);
      expect(workers.body).toEqual([expect.objectContaining({ name: 'auth-worker', status: 'ONLINE' })]);
    },
    CLI_TIMEOUT_MS,
  );

  it.each([
    ['a wrong auth string', 'operator:wrong'],
    ['no auth string', null],
  ])(
    'the CLI and the worker with %s are refused with 401 and change nothing',
    async (_case, authString) => {
      for (const args of [
        ['work-pool', 'ls'],
        ['work-pool', 'create', 'intruder-pool', '--type', 'process'],
        ['work-pool', 'delete', POOL],
        ['work-pool', 'pause', POOL],
      ]) {
        const { code, output } = await run(venvBin('prefect'), args, authString);
        expect({ args, code }).toEqual({ args, code: 1 });
        expect(output).toMatch(/401|Unauthorized/);
      }
      const worker = await run(
        venvBin('prefect'),
        ['worker', 'start', '--pool', POOL, '--type', 'process', '--run-once'],
        authString,
      );
      expect(worker.code).not.toBe(0);
      expect(worker.output).toMatch(/401|Unauthorized/);
      const pools = await live.gateway.request('POST', '/work_pools/filter', {}, authHeader);
      expect(pools.body.map((pool: { name: string; is_paused: boolean }) => `${pool.name}/${pool.is_paused}`)).toEqual([
        `${POOL}/false`,
      ]);
    },
    6 * CLI_TIMEOUT_MS,
  );

  it(
    "Prefect's events client authenticates on the events websocket with the auth string, and is refused with a wrong one",
    async () => {
      const accepted = randomUUID();
      const sent = await run(venvBin('python'), ['-c', EMIT_EVENT, accepted], AUTH_STRING);
      expect({ code: sent.code, output: sent.code === 0 ? '' : sent.output }).toEqual({ code: 0, output: '' });
      const deadline = Date.now() + 5000;
      while (!events.some((event) => event.resource['prefect.resource.id'] === accepted) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(events.map((event) => event.resource['prefect.resource.id'])).toContain(accepted);

      const refusedId = randomUUID();
      const refused = await run(venvBin('python'), ['-c', EMIT_EVENT, refusedId], 'operator:wrong');
      expect(refused.code).not.toBe(0);
      // The client checks the server's version over HTTP before it opens the socket: that is where it is refused.
      expect(refused.output).toContain("401 Unauthorized' for url");
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(events.map((event) => event.resource['prefect.resource.id'])).not.toContain(refusedId);
    },
    2 * CLI_TIMEOUT_MS,
  );
});
