import { randomUUID } from 'node:crypto';
import { TestGateway } from '../support/gateway';
import { expectOperation } from '../support/openapi';
import { TestScheduler } from '../support/scheduler';

const SET_STATE = '/flow_runs/{id}/set_state';
const PREFECT_CLIENT = { 'user-agent': 'prefect/3.9.1 (API 0.8.4)' };
const inSeconds = (seconds: number) => new Date(Date.now() + seconds * 1000).toISOString();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('flow run retries (RetryFailedFlows)', () => {
  let gw: TestGateway;
  let scheduler: TestScheduler;
  let flowId: string;

  beforeAll(async () => {
    gw = await TestGateway.start({ DISPATCH_INTERVAL_MS: '200' });
    scheduler = await TestScheduler.start(gw.config);
    flowId = (await gw.post('/flows/', { name: 'flaky' })).body.id;
    expect((await gw.post('/work_pools/', { name: 'retry-pool', type: 'process' })).status).toBe(201);
  });
  afterAll(async () => {
    await scheduler.stop();
    await gw.stop();
  });

  async function run(empiricalPolicy: Record<string, unknown> = {}): Promise<string> {
    const response = await gw.post('/flow_runs/', {
      flow_id: flowId,
      work_pool_name: 'retry-pool',
      empirical_policy: empiricalPolicy,
      state: { type: 'SCHEDULED', state_details: { scheduled_time: inSeconds(0) } },
    });
    expect(response.status).toBe(201);
    return response.body.id as string;
  }

  const propose = (id: string, state: Record<string, unknown>) =>
    gw.request(
      'POST',
      `/flow_runs/${id}/set_state`,
      { state: { ...state, state_details: { transition_id: randomUUID() } } },
      PREFECT_CLIENT,
    );
  const poll = async (): Promise<string[]> =>
    (
      (await gw.post('/work_pools/retry-pool/get_scheduled_flow_runs', { scheduled_before: inSeconds(10) })).body as {
        flow_run: { id: string };
      }[]
    ).map((offer) => offer.flow_run.id);
  const failure = { type: 'FAILED', message: 'Flow run encountered an exception: ValueError: boom' };

  async function startRun(id: string) {
    expect((await propose(id, { type: 'PENDING' })).body.status).toBe('ACCEPT');
    expect((await propose(id, { type: 'RUNNING' })).body.status).toBe('ACCEPT');
  }

  it('reschedules a failing run with retries left as AwaitingRetry, retried in process and never offered to workers', async () => {
    const flaky = await run({ retries: 1, retry_delay: 0 });
    await startRun(flaky);

    const before = Date.now();
    const retry = await propose(flaky, failure);
    expectOperation(retry, 'POST', SET_STATE, 201);
    expect(retry.body).toMatchObject({
      status: 'REJECT',
      details: { type: 'reject_details', reason: 'Retrying' },
      state: { type: 'SCHEDULED', name: 'AwaitingRetry', message: failure.message },
    });
    const scheduledTime = Date.parse(retry.body.state.state_details.scheduled_time);
    expect(scheduledTime).toBeGreaterThanOrEqual(before);
    expect(scheduledTime).toBeLessThanOrEqual(Date.now());
    const waiting = (await gw.get(`/flow_runs/${flaky}`)).body;
    expect(waiting).toMatchObject({
      state_type: 'SCHEDULED',
      state_name: 'AwaitingRetry',
      run_count: 1,
      empirical_policy: { retry_type: 'in_process', retries: 1 },
    });
    expect(Date.parse(waiting.next_scheduled_start_time)).toBe(scheduledTime);

    // A due run of the same pool is offered; the run retrying in its own process never is.
    const other = await run();
    const offered = new Set<string>();
    const deadline = Date.now() + 10_000;
    while (!offered.has(other) && Date.now() < deadline) {
      for (const id of await poll()) offered.add(id);
      await sleep(50);
    }
    expect(offered).toContain(other);
    for (let i = 0; i < 10; i++) {
      for (const id of await poll()) offered.add(id);
      await sleep(100);
    }
    expect(offered).not.toContain(flaky);

    // The process retries it: RUNNING again, and failing once more exhausts the retries.
    const rerun = await propose(flaky, { type: 'RUNNING' });
    expect(rerun.body).toMatchObject({ status: 'ACCEPT', state: { type: 'RUNNING' } });
    const failed = await propose(flaky, failure);
    expectOperation(failed, 'POST', SET_STATE, 201);
    expect(failed.body).toMatchObject({ status: 'ACCEPT', state: { type: 'FAILED', message: failure.message } });
    expect((await gw.get(`/flow_runs/${flaky}`)).body).toMatchObject({
      state_type: 'FAILED',
      run_count: 2,
      empirical_policy: { retry_type: null },
    });
  });

  it('waits retry_delay seconds before the retry may start', async () => {
    const flaky = await run({ retries: 2, retry_delay: 5 });
    await startRun(flaky);
    const before = Date.now();
    const retry = await propose(flaky, failure);
    expect(retry.body.state.name).toBe('AwaitingRetry');
    const scheduledTime = Date.parse(retry.body.state.state_details.scheduled_time);
    expect(scheduledTime).toBeGreaterThanOrEqual(before + 5000);
    expect(scheduledTime).toBeLessThanOrEqual(Date.now() + 5000);

    const early = await propose(flaky, { type: 'RUNNING' });
    expect(early.body).toMatchObject({
      status: 'WAIT',
      details: { type: 'wait_details', reason: 'Scheduled time is in the future' },
    });
    expect(early.body.details.delay_seconds).toBeGreaterThanOrEqual(4);
    expect(early.body.details.delay_seconds).toBeLessThanOrEqual(5);
  });

  it('takes the retries the engine sets on the run once it has loaded the flow', async () => {
    const flaky = await run();
    await startRun(flaky);
    expect((await gw.patch(`/flow_runs/${flaky}`, { empirical_policy: { retries: 1, retry_delay: 0 } })).status).toBe(
      204,
    );
    expect((await propose(flaky, failure)).body.state.name).toBe('AwaitingRetry');
  });

  it('fails a run without retries at once', async () => {
    const fragile = await run();
    await startRun(fragile);
    const failed = await propose(fragile, failure);
    expect(failed.body).toMatchObject({ status: 'ACCEPT', state: { type: 'FAILED', name: 'Failed' } });
    expect((await gw.get(`/flow_runs/${fragile}`)).body).toMatchObject({
      state_type: 'FAILED',
      end_time: expect.any(String),
    });
  });
});
