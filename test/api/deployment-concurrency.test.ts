import { randomUUID } from 'node:crypto';
import { TestGateway, TestResponse } from '../support/gateway';
import { expectOperation } from '../support/openapi';

const SET_STATE = '/flow_runs/{id}/set_state';
const RENEW = '/v2/concurrency_limits/leases/{lease_id}/renew';
const LIMIT_REACHED = 'Deployment concurrency limit reached.';
/** What a stock Prefect client sends: it renews its lease while its run is RUNNING. */
const PREFECT_CLIENT = { 'user-agent': 'prefect/3.9.1 (API 0.8.4)' };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('deployment concurrency limits', () => {
  let gw: TestGateway;
  let flowId: string;

  beforeAll(async () => {
    gw = await TestGateway.start();
    flowId = (await gw.post('/flows/', { name: 'limited' })).body.id;
  });
  afterAll(() => gw.stop());

  async function deployment(body: Record<string, unknown> = {}): Promise<string> {
    const response = await gw.post('/deployments/', { name: `deployment-${randomUUID()}`, flow_id: flowId, ...body });
    expect(response.status).toBe(201);
    return response.body.id as string;
  }

  /** A run of the deployment, due now. */
  async function run(deploymentId: string): Promise<string> {
    const response = await gw.post(`/deployments/${deploymentId}/create_flow_run`, { state: { type: 'SCHEDULED' } });
    expect(response.status).toBe(201);
    return response.body.id as string;
  }

  const propose = (id: string, state: Record<string, unknown>, headers: Record<string, string> = {}, force = false) =>
    gw.request(
      'POST',
      `/flow_runs/${id}/set_state`,
      { state: { ...state, state_details: { transition_id: randomUUID() } }, force },
      headers,
    );
  const claim = (id: string) => propose(id, { type: 'PENDING' });
  const busySlots = (deploymentId: string) => gw.db.repos.deploymentConcurrencyLeases.countLive(deploymentId);
  const leaseOf = (response: TestResponse) =>
    response.body.state.state_details.deployment_concurrency_lease_id as string;

  async function finish(id: string) {
    expect((await propose(id, { type: 'RUNNING' }, PREFECT_CLIENT)).body.status).toBe('ACCEPT');
    expect((await propose(id, { type: 'COMPLETED' }, PREFECT_CLIENT)).body.status).toBe('ACCEPT');
  }

  it('gives the only slot to the first claim and reschedules the second 30 s ahead (AwaitingConcurrencySlot)', async () => {
    const limited = await deployment({ concurrency_limit: 1 });
    const [first, second] = [await run(limited), await run(limited)];

    const accepted = await claim(first);
    expectOperation(accepted, 'POST', SET_STATE, 201);
    expect(accepted.body).toMatchObject({ status: 'ACCEPT', state: { type: 'PENDING', name: 'Pending' } });
    expect(leaseOf(accepted)).toEqual(expect.any(String));
    expect(await busySlots(limited)).toBe(1);

    const before = Date.now();
    const rejected = await claim(second);
    expectOperation(rejected, 'POST', SET_STATE, 201);
    expect(rejected.body).toMatchObject({
      status: 'REJECT',
      details: { type: 'reject_details', reason: LIMIT_REACHED },
      state: {
        type: 'SCHEDULED',
        name: 'AwaitingConcurrencySlot',
        state_details: { flow_run_id: second, deployment_concurrency_lease_id: null },
      },
    });
    const scheduledTime = Date.parse(rejected.body.state.state_details.scheduled_time);
    expect(scheduledTime).toBeGreaterThanOrEqual(before + 30_000);
    expect(scheduledTime).toBeLessThanOrEqual(Date.now() + 30_000);

    const waiting = (await gw.get(`/flow_runs/${second}`)).body;
    expect(waiting).toMatchObject({
      state_type: 'SCHEDULED',
      state_name: 'AwaitingConcurrencySlot',
      state: { id: rejected.body.state.id },
    });
    expect(Date.parse(waiting.next_scheduled_start_time)).toBe(scheduledTime);
    expect(await busySlots(limited)).toBe(1);
  });

  it('cancels the run that finds no slot under CANCEL_NEW', async () => {
    const limited = await deployment({
      concurrency_limit: 1,
      concurrency_options: { collision_strategy: 'CANCEL_NEW' },
    });
    const [first, second] = [await run(limited), await run(limited)];
    expect((await claim(first)).body.status).toBe('ACCEPT');
    const rejected = await claim(second);
    expectOperation(rejected, 'POST', SET_STATE, 201);
    expect(rejected.body).toMatchObject({
      status: 'REJECT',
      details: { reason: LIMIT_REACHED },
      state: { type: 'CANCELLED', name: 'Cancelled', message: LIMIT_REACHED },
    });
    expect((await gw.get(`/flow_runs/${second}`)).body).toMatchObject({
      state_type: 'CANCELLED',
      end_time: expect.any(String),
    });
  });

  it('aborts claims on a deployment whose limit is 0, and on a deployment that does not exist, writing nothing', async () => {
    const zero = await deployment({ concurrency_limit: 1 });
    // The API refuses a limit of 0 (it must be > 0); Prefect can still meet one through its global limits.
    await gw.db.repos.deployments.updateColumns(zero, { concurrency_limit: 0 });
    const blocked = await run(zero);
    const aborted = await claim(blocked);
    expectOperation(aborted, 'POST', SET_STATE, 200);
    expect(aborted.body).toMatchObject({
      status: 'ABORT',
      details: {
        type: 'abort_details',
        reason: 'The deployment concurrency limit is 0. The flow will deadlock if submitted again.',
      },
      state: { type: 'SCHEDULED' },
    });

    const orphan = await gw.post('/flow_runs/', {
      flow_id: flowId,
      deployment_id: randomUUID(),
      state: { type: 'SCHEDULED' },
    });
    const missing = await claim(orphan.body.id);
    expectOperation(missing, 'POST', SET_STATE, 200);
    expect(missing.body).toMatchObject({ status: 'ABORT', details: { reason: 'Deployment not found.' } });
    for (const id of [blocked, orphan.body.id]) {
      expect((await gw.db.repos.flowRunStates.historyOf(id)).map((state) => state.type)).toEqual(['SCHEDULED']);
    }
  });

  it('frees the slot when the run completes, so the waiting run gets it', async () => {
    const limited = await deployment({ concurrency_limit: 1 });
    const [first, second] = [await run(limited), await run(limited)];
    expect((await claim(first)).body.status).toBe('ACCEPT');
    expect((await claim(second)).body.status).toBe('REJECT');
    await finish(first);
    expect(await busySlots(limited)).toBe(0);
    const retried = await claim(second);
    expect(retried.body).toMatchObject({ status: 'ACCEPT', state: { type: 'PENDING' } });
    expect(await busySlots(limited)).toBe(1);
  });

  it('frees the slot of a crashed, cancelled or deleted run', async () => {
    const limited = await deployment({ concurrency_limit: 1 });
    const crashed = await run(limited);
    expect((await claim(crashed)).body.status).toBe('ACCEPT');
    expect(
      (
        await propose(crashed, {
          type: 'CRASHED',
          message: 'Flow run infrastructure exited with non-zero status code 1.',
        })
      ).body.status,
    ).toBe('ACCEPT');
    expect(await busySlots(limited)).toBe(0);

    const cancelled = await run(limited);
    expect((await claim(cancelled)).body.status).toBe('ACCEPT');
    expect((await propose(cancelled, { type: 'RUNNING' }, PREFECT_CLIENT)).body.status).toBe('ACCEPT');
    expect((await propose(cancelled, { type: 'CANCELLING' }, PREFECT_CLIENT)).body.status).toBe('ACCEPT');
    expect(await busySlots(limited)).toBe(1);
    // The worker marks the run cancelled once its infrastructure is gone, forcing the state.
    expect((await propose(cancelled, { type: 'CANCELLED' }, {}, true)).body.status).toBe('ACCEPT');
    expect(await busySlots(limited)).toBe(0);

    const deleted = await run(limited);
    expect((await claim(deleted)).body.status).toBe('ACCEPT');
    expect((await gw.delete(`/flow_runs/${deleted}`)).status).toBe(204);
    expect(await busySlots(limited)).toBe(0);
  });

  it('reclaims the slot of a lease that was not renewed in time, and cancels its run when it starts too late', async () => {
    const limited = await deployment({ concurrency_limit: 1 });
    // Grace periods under a minute are refused by the API; a short one makes expiry observable here.
    await gw.db.repos.deployments.updateColumns(limited, {
      concurrency_options: { collision_strategy: 'ENQUEUE', grace_period_seconds: 1 },
    });
    const [stale, fresh] = [await run(limited), await run(limited)];
    const staleLease = leaseOf(await claim(stale));
    expect((await claim(fresh)).body.status).toBe('REJECT');

    const deadline = Date.now() + 5000;
    while ((await busySlots(limited)) > 0 && Date.now() < deadline) await sleep(50);
    expect(await busySlots(limited)).toBe(0);
    expect((await gw.post(`/v2/concurrency_limits/leases/${staleLease}/renew`, { lease_duration: 60 })).status).toBe(
      410,
    );
    const latecomer = await run(limited);
    expect((await claim(latecomer)).body.status).toBe('ACCEPT');

    const started = await propose(stale, { type: 'RUNNING' }, PREFECT_CLIENT);
    expect(started.body).toMatchObject({
      status: 'REJECT',
      details: { reason: 'Deployment concurrency limit reached after lease expiry.' },
      state: {
        type: 'CANCELLED',
        message: 'Deployment concurrency slot lost during provisioning - no slots available to continue execution',
      },
    });
    expect(await busySlots(limited)).toBe(1);
  });

  it('keeps the slot of a run that retries in its process, and the lease the process renews', async () => {
    const limited = await deployment({ concurrency_limit: 1 });
    const [flaky, next] = [await run(limited), await run(limited)];
    const lease = leaseOf(await claim(flaky));
    expect((await gw.patch(`/flow_runs/${flaky}`, { empirical_policy: { retries: 1, retry_delay: 0 } })).status).toBe(
      204,
    );
    expect((await propose(flaky, { type: 'RUNNING' }, PREFECT_CLIENT)).body.status).toBe('ACCEPT');
    const retry = await propose(flaky, { type: 'FAILED' }, PREFECT_CLIENT);
    expect(retry.body.state).toMatchObject({
      name: 'AwaitingRetry',
      state_details: { deployment_concurrency_lease_id: lease },
    });
    expect(await busySlots(limited)).toBe(1);
    expect((await claim(next)).body.status).toBe('REJECT');
    expect((await gw.post(`/v2/concurrency_limits/leases/${lease}/renew`, { lease_duration: 60 })).status).toBe(204);

    expect((await propose(flaky, { type: 'RUNNING' }, PREFECT_CLIENT)).body.status).toBe('ACCEPT');
    expect((await propose(flaky, { type: 'COMPLETED' }, PREFECT_CLIENT)).body.status).toBe('ACCEPT');
    expect(await busySlots(limited)).toBe(0);
  });

  it('of 10 concurrent claims on a deployment with limit 3, exactly 3 get a slot', async () => {
    const limited = await deployment({ concurrency_limit: 3 });
    for (let round = 0; round < 3; round++) {
      const runs = await Promise.all(Array.from({ length: 10 }, () => run(limited)));
      const claims = await Promise.all(runs.map((id) => claim(id)));
      const accepted = runs.filter((_, i) => claims[i].body.status === 'ACCEPT');
      expect(accepted).toHaveLength(3);
      expect(
        claims.filter(
          (response) => response.body.status === 'REJECT' && response.body.state.name === 'AwaitingConcurrencySlot',
        ),
      ).toHaveLength(7);
      expect(await busySlots(limited)).toBe(3);
      await Promise.all(accepted.map((id) => finish(id)));
      expect(await busySlots(limited)).toBe(0);
    }
  });

  it('renews a live lease through the v2 lease route; a released or unknown lease is gone (410)', async () => {
    const limited = await deployment({ concurrency_limit: 1 });
    const id = await run(limited);
    const lease = leaseOf(await claim(id));

    const renewed = await gw.post(`/v2/concurrency_limits/leases/${lease}/renew`, { lease_duration: 600 });
    expect(renewed.status).toBe(204);
    expect(renewed.text).toBe('');
    const row = await gw.db.repos.deploymentConcurrencyLeases.findById(lease);
    expect(row!.expires_at!.getTime()).toBeGreaterThan(Date.now() + 590_000);
    expect((await gw.post(`/v2/concurrency_limits/leases/${lease}/renew`, {})).status).toBe(204);
    expect((await gw.post(`/v2/concurrency_limits/leases/${lease}/renew`, { lease_duration: null })).status).toBe(204);

    const unknown = await gw.post(`/v2/concurrency_limits/leases/${randomUUID()}/renew`, { lease_duration: 60 });
    expect(unknown.status).toBe(410);
    expect(unknown.body).toEqual({ detail: 'Lease not found - it may have expired or been revoked' });

    await finish(id);
    expect((await gw.post(`/v2/concurrency_limits/leases/${lease}/renew`, { lease_duration: 60 })).status).toBe(410);
  });

  it('refuses a lease duration outside 60 s to a day, and a malformed lease id, with 422', async () => {
    const lease = randomUUID();
    for (const duration of [59, 86_401, 'soon']) {
      const response = await gw.post(`/v2/concurrency_limits/leases/${lease}/renew`, { lease_duration: duration });
      expectOperation(response, 'POST', RENEW, 422);
      expect(response.body.exception_detail[0]).toMatchObject({ loc: ['body', 'lease_duration'] });
    }
    const malformed = await gw.post('/v2/concurrency_limits/leases/not-a-uuid/renew', { lease_duration: 60 });
    expect(malformed.status).toBe(422);
    expect(malformed.body.exception_detail[0]).toMatchObject({ type: 'uuid_parsing', loc: ['path', 'lease_id'] });
  });

  it('keeps the slot of a client too old to renew its lease until the run finishes', async () => {
    const limited = await deployment({ concurrency_limit: 1 });
    const id = await run(limited);
    const lease = leaseOf(await claim(id));
    expect((await propose(id, { type: 'RUNNING' }, { 'user-agent': 'prefect/3.4.10 (API 0.8.4)' })).body.status).toBe(
      'ACCEPT',
    );
    expect((await gw.db.repos.deploymentConcurrencyLeases.findById(lease))?.expires_at).toBeNull();
    expect((await propose(id, { type: 'COMPLETED' })).body.status).toBe('ACCEPT');
    expect(await gw.db.repos.deploymentConcurrencyLeases.findById(lease)).toBeNull();
  });
});
