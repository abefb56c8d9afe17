import WebSocket from 'ws';
import { adminQuery, databaseUrl } from '../support/databases';
import { AppProcess, freePort, waitForHttp } from '../support/processes';

/** The built apps as real processes: boot on a database they create, JSON logs, clean SIGTERM, bad config. */
describe('gateway and scheduler processes', () => {
  const database = `e2e_processes_${process.pid}`;
  const env = {
    DATABASE_URL: databaseUrl(database),
    NATS_NAMESPACE: `e2e-processes-${process.pid}`,
    LOG_LEVEL: 'info',
  };
  const started: AppProcess[] = [];

  beforeAll(() => adminQuery(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`));
  afterAll(async () => {
    await Promise.all(started.map((p) => p.stop('SIGKILL')));
    await adminQuery(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  });

  it('the gateway creates its database, migrates, serves, logs JSON lines with request ids, and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const gateway = AppProcess.start('gateway', { ...env, PORT: String(port) });
    started.push(gateway);
    await waitForHttp(`http://127.0.0.1:${port}/api/health`);

    const created = await fetch(`http://127.0.0.1:${port}/api/flows/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'req-e2e-1' },
      body: JSON.stringify({ name: 'e2e-flow' }),
    });
    expect(created.status).toBe(201);
    await gateway.waitForLine(/req-e2e-1/);

    for (const line of gateway.lines) expect(() => JSON.parse(line)).not.toThrow();
    expect(await gateway.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  });

  it('the built gateway serves the events websocket, and SIGTERM closes an open one before exiting 0', async () => {
    const port = await freePort();
    const gateway = AppProcess.start('gateway', { ...env, PORT: String(port) });
    started.push(gateway);
    await waitForHttp(`http://127.0.0.1:${port}/api/health`);

    const socket = new WebSocket(`ws://127.0.0.1:${port}/api/events/in`, ['prefect']);
    const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
    const answer = new Promise<unknown>((resolve) =>
      socket.once('message', (data: Buffer) => resolve(JSON.parse(data.toString()))),
    );
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    socket.send(JSON.stringify({ type: 'auth', token: null }));
    expect(await answer).toEqual({ type: 'auth_success' });

    expect(await gateway.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(await closed).toBe(1005);
  });

  it('SIGTERM lets an in-flight long poll finish with its answer before the gateway exits', async () => {
    const port = await freePort();
    const gateway = AppProcess.start('gateway', { ...env, PORT: String(port) });
    started.push(gateway);
    const api = `http://127.0.0.1:${port}/api`;
    await waitForHttp(`${api}/health`);
    await fetch(`${api}/work_pools/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'drain-me' }),
    });
    const longPoll = fetch(`${api}/work_pools/drain-me/get_scheduled_flow_runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', prefer: 'wait=20' },
      body: '{}',
    });
    await new Promise((r) => setTimeout(r, 300));
    const stoppedAt = Date.now();
    gateway.child.kill('SIGTERM');
    const response = await longPoll;
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual([]);
    expect(await gateway.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - stoppedAt).toBeLessThan(5000);
  }, 20_000);

  it('the scheduler connects to Postgres and NATS and exits 0 on SIGTERM', async () => {
    const scheduler = AppProcess.start('scheduler', env);
    started.push(scheduler);
    await scheduler.waitForLine(/scheduler started/);
    expect(await scheduler.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    for (const line of scheduler.lines) expect(() => JSON.parse(line)).not.toThrow();
  });

  it.each([
    ['PORT', 'not-a-port'],
    ['NATS_NAMESPACE', 'has.dots'],
  ])('a bad %s stops the process with a message naming it', async (key, value) => {
    const gateway = AppProcess.start('gateway', { ...env, [key]: value });
    started.push(gateway);
    const { code } = await gateway.exited;
    expect(code).not.toBe(0);
    expect(gateway.lines.join('\n')).toContain(key);
  });

  it('a scheduler that cannot reach NATS fails to start instead of running blind', async () => {
    const port = await freePort();
    const scheduler = AppProcess.start('scheduler', { ...env, NATS_URL: `nats://127.0.0.1:${port}` });
    started.push(scheduler);
    const { code } = await scheduler.exited;
    expect(code).not.toBe(0);
  });
});
