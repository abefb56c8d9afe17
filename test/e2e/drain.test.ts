import { adminQuery, databaseUrl } from '../support/databases';
import { AppProcess, freePort, waitForHttp } from '../support/processes';

/**
 * Issue 13: graceful drain on SIGTERM (in-flight polls answered, `/api/ready` 503 while draining) and the scheduler's
 * own `/metrics` listener, on the built apps as real processes.
 */
describe('drain and the scheduler metrics listener', () => {
  const database = `e2e_drain_${process.pid}`;
  const env = {
    DATABASE_URL: databaseUrl(database),
    NATS_NAMESPACE: `e2e-drain-${process.pid}`,
    LOG_LEVEL: 'warn',
  };
  const started: AppProcess[] = [];

  beforeAll(() => adminQuery(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`));
  afterAll(async () => {
    await Promise.all(started.map((p) => p.stop('SIGKILL')));
    await adminQuery(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  });

  const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  it('SIGTERM: long polls are answered at once, /api/ready turns 503 while the gateway still serves for SHUTDOWN_DRAIN_SECONDS, then it exits 0', async () => {
    const port = await freePort();
    const gateway = AppProcess.start('gateway', { ...env, PORT: String(port), SHUTDOWN_DRAIN_SECONDS: '3' });
    started.push(gateway);
    const api = `http://127.0.0.1:${port}/api`;
    await waitForHttp(`${api}/health`);
    expect((await fetch(`${api}/ready`)).status).toBe(200);
    await post(`${api}/work_pools/`, { name: 'drain-me' });
    const pollUrl = `${api}/work_pools/drain-me/get_scheduled_flow_runs`;
    const longPolls = [1, 2, 3].map(() => post(pollUrl, {}, { prefer: 'wait=30' }));
    await new Promise((r) => setTimeout(r, 500));

    const signalledAt = Date.now();
    gateway.child.kill('SIGTERM');
    const answers = await Promise.all(longPolls);
    const answeredAfter = Date.now() - signalledAt;
    expect(answers.map((response) => response.status)).toEqual([200, 200, 200]);
    expect(await Promise.all(answers.map((response) => response.json()))).toEqual([[], [], []]);
    // Answered on the drain, not when their wait or the drain ran out.
    expect(answeredAfter).toBeLessThan(1500);

    // Still serving during the drain, but no longer ready; a new long poll does not wait.
    const ready = await fetch(`${api}/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: 'draining', failing: [] });
    const lateStarted = Date.now();
    const late = await post(pollUrl, {}, { prefer: 'wait=30' });
    expect(late.status).toBe(200);
    expect(Date.now() - lateStarted).toBeLessThan(1500);

    expect(await gateway.exited).toEqual({ code: 0, signal: null });
    const exitedAfter = Date.now() - signalledAt;
    expect(exitedAfter).toBeGreaterThanOrEqual(3000);
    expect(exitedAfter).toBeLessThan(8000);
    console.log(`drain: long polls answered ${answeredAfter} ms after SIGTERM, exit after ${exitedAfter} ms`);
  }, 30_000);

  it('the scheduler serves /metrics on METRICS_PORT, behind API_AUTH_STRING when set', async () => {
    const metricsPort = await freePort();
    const scheduler = AppProcess.start('scheduler', {
      ...env,
      LOG_LEVEL: 'info',
      METRICS_PORT: String(metricsPort),
      API_AUTH_STRING: 'admin:secret',
    });
    started.push(scheduler);
    await scheduler.waitForLine(/scheduler started/);
    const url = `http://127.0.0.1:${metricsPort}/metrics`;
    expect((await fetch(url)).status).toBe(401);
    const authorization = `Basic ${Buffer.from('admin:secret').toString('base64')}`;
    const scrape = await fetch(url, { headers: { authorization } });
    expect(scrape.status).toBe(200);
    expect(scrape.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    let text = await scrape.text();
    // A loop's series appears once its first pass has ended.
    for (let i = 0; i < 50 && !/loop="dispatcher"/.test(text); i++) {
      await new Promise((r) => setTimeout(r, 100));
      text = await (await fetch(url, { headers: { authorization } })).text();
    }
    expect(text).toMatch(/^prefect_dispatch_loop_duration_seconds_count\{loop="dispatcher"\} \d+/m);
    expect(text).toMatch(/^prefect_dispatch_nats_connected 1$/m);
    expect(text).toMatch(/^process_cpu_seconds_total /m);
    expect((await fetch(`http://127.0.0.1:${metricsPort}/other`, { headers: { authorization } })).status).toBe(404);
    expect(await scheduler.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  });
});
