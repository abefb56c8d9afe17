import { randomUUID } from 'node:crypto';
import { Fixtures, PollLoop, Sql } from '../support/delivery';
import { TestGateway } from '../support/gateway';
import { TestScheduler } from '../support/scheduler';

/**
 * I10 "One start" over HTTP: a claim that comes after the run was started elsewhere is refused however late it
 * is, the winner that resends its claim learns that it won, and every way Prefect starts a run legitimately
 * still starts it.
 */
const LEASE_SECONDS = 1;
jest.setTimeout(30_000);

describe('I10: claims are fenced', () => {
  let gw: TestGateway;
  let scheduler: TestScheduler;
  let fx: Fixtures;
  let deploymentId: string;
  let sql: Sql;

  beforeAll(async () => {
    gw = await TestGateway.start({ DELIVERY_LEASE_SECONDS: String(LEASE_SECONDS), DISPATCH_INTERVAL_MS: '100' });
    scheduler = await TestScheduler.start(gw.config);
    fx = await Fixtures.create(gw, 'fence');
    sql = await Sql.connect(gw.config.db.url);
    await fx.pool('legit');
    deploymentId = (await gw.post('/deployments/', { name: 'fenced', flow_id: fx.flowId, work_pool_name: 'legit' }))
      .body.id;
  });
  afterAll(async () => {
    await sql.end();
    await scheduler.stop();
    await gw.stop();
  });

  const propose = async (runId: string, type: string, fields: Record<string, unknown> = {}) =>
    (await gw.post(`/flow_runs/${runId}/set_state`, { state: { type, ...fields } })).body;
  const claim = (runId: string, transitionId: string) =>
    propose(runId, 'PENDING', { state_details: { transition_id: transitionId } });
  const history = async (runId: string): Promise<string[]> =>
    (
      await sql.query<{ type: string }>('SELECT type FROM flow_run_state WHERE flow_run_id = $1 ORDER BY timestamp', [
        runId,
      ])
    ).map((state) => state.type);

  it("refuses the late claim of a poller whose lease ran out once another poller ran the run (the issue's scenario)", async () => {
    await fx.pool('late');
    const run = await fx.run('late');
    const a = new PollLoop(gw, 'late', 'A');
    await a.receipt(run.id);
    await a.stop();
    // A's claim is lost on its way (its gateway died); the lease runs out and the run goes to B.
    const b = new PollLoop(gw, 'late', 'B');
    const bReceipt = await b.receipt(run.id, 1, 10_000);
    await b.stop();
    // Not before A's lease ended, which began after A's poll was sent (its answer may come back well after that).
    expect(bReceipt.at - (a.receiptsOf(run.id)[0]?.sentAt ?? 0)).toBeGreaterThanOrEqual(LEASE_SECONDS * 1000 - 50);

    const won = randomUUID();
    expect(await claim(run.id, won)).toMatchObject({ status: 'ACCEPT', state: { type: 'PENDING' } });
    // B's own claim, resent (its reply was lost): answered as Prefect answers a duplicate transition.
    const resent = await claim(run.id, won);
    expect(resent).toMatchObject({
      status: 'REJECT',
      state: { type: 'PENDING', state_details: { transition_id: won } },
      details: { type: 'reject_details', reason: 'This run has already made this state transition.' },
    });
    expect(await propose(run.id, 'RUNNING')).toMatchObject({ status: 'ACCEPT' });
    expect(await propose(run.id, 'COMPLETED')).toMatchObject({ status: 'ACCEPT' });

    // A's retried claim finally arrives.
    const late = await claim(run.id, randomUUID());
    expect(late).toMatchObject({
      status: 'ABORT',
      state: { type: 'COMPLETED' },
      details: {
        type: 'abort_details',
        reason:
          'This run has already been started and is in a COMPLETED state; it cannot transition to a PENDING state.',
      },
    });
    expect(await history(run.id)).toEqual(['SCHEDULED', 'PENDING', 'RUNNING', 'COMPLETED']);
    expect((await gw.get(`/flow_runs/${run.id}`)).body).toMatchObject({ state_type: 'COMPLETED', run_count: 1 });
  });

  it('refuses a claim of a run that failed or crashed after its start', async () => {
    for (const end of ['FAILED', 'CRASHED']) {
      const run = await fx.run('legit');
      await claim(run.id, randomUUID());
      await propose(run.id, 'RUNNING');
      await propose(run.id, end);
      expect((await claim(run.id, randomUUID())).status).toBe('ABORT');
      expect(await history(run.id)).toEqual(['SCHEDULED', 'PENDING', 'RUNNING', end]);
    }
  });

  describe('every legitimate start still starts the run', () => {
    it('a manual retry through AwaitingRetry of a run that finished', async () => {
      const run = (await gw.post(`/deployments/${deploymentId}/create_flow_run`, { state: { type: 'SCHEDULED' } }))
        .body;
      await claim(run.id, randomUUID());
      await propose(run.id, 'RUNNING');
      await propose(run.id, 'FAILED');
      expect(await propose(run.id, 'SCHEDULED', { name: 'AwaitingRetry' })).toMatchObject({ status: 'ACCEPT' });
      expect((await claim(run.id, randomUUID())).status).toBe('ACCEPT');
      expect((await propose(run.id, 'RUNNING')).status).toBe('ACCEPT');
      expect((await propose(run.id, 'COMPLETED')).status).toBe('ACCEPT');
      expect((await claim(run.id, randomUUID())).status).toBe('ABORT');
      expect(await history(run.id)).toEqual([
        'SCHEDULED',
        'PENDING',
        'RUNNING',
        'FAILED',
        'SCHEDULED',
        'PENDING',
        'RUNNING',
        'COMPLETED',
      ]);
    });

    it('a suspended run, resumed, then claimed', async () => {
      const run = (await gw.post(`/deployments/${deploymentId}/create_flow_run`, { state: { type: 'SCHEDULED' } }))
        .body;
      await claim(run.id, randomUUID());
      await propose(run.id, 'RUNNING');
      expect(
        await propose(run.id, 'PAUSED', {
          name: 'Suspended',
          state_details: { pause_reschedule: true, pause_key: 'k' },
        }),
      ).toMatchObject({ status: 'ACCEPT' });
      expect(await propose(run.id, 'SCHEDULED', { name: 'Resuming' })).toMatchObject({ status: 'ACCEPT' });
      expect((await claim(run.id, randomUUID())).status).toBe('ACCEPT');
      expect((await propose(run.id, 'RUNNING')).status).toBe('ACCEPT');
    });

    it.each([
      ['created without a state (it gets PENDING)', {}],
      ['created PENDING', { state: { type: 'PENDING' } }],
    ])('a local flow() call, %s: RUNNING, and never claimed again once it finished', async (_case, body) => {
      const run = (await gw.post('/flow_runs/', { flow_id: fx.flowId, ...body })).body;
      expect(run.state_type).toBe('PENDING');
      expect((await propose(run.id, 'RUNNING')).status).toBe('ACCEPT');
      expect((await propose(run.id, 'COMPLETED')).status).toBe('ACCEPT');
      expect((await claim(run.id, randomUUID())).status).toBe('ABORT');
      expect(await history(run.id)).toEqual(['PENDING', 'RUNNING', 'COMPLETED']);
    });

    it('a scheduled run that was marked failed before it ever started can still be claimed, as in Prefect', async () => {
      const run = await fx.run('legit');
      await propose(run.id, 'FAILED');
      expect((await claim(run.id, randomUUID())).status).toBe('ACCEPT');
    });
  });
});
