import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { TestGateway } from '../support/gateway';
import { expectOperation } from '../support/openapi';

const SET_STATE = '/flow_runs/{id}/set_state';

describe('POST /flow_runs/{id}/set_state', () => {
  let gw: TestGateway;
  let flowId: string;

  beforeAll(async () => {
    gw = await TestGateway.start();
    flowId = (await gw.post('/flows/', { name: 'orchestrated' })).body.id;
  });
  afterAll(() => gw.stop());

  const secondsFromNow = (seconds: number) => new Date(Date.now() + seconds * 1000).toISOString();

  /** A run created SCHEDULED at `scheduledTime`, optionally for a deployment. */
  async function scheduledRun(scheduledTime = secondsFromNow(-5), deploymentId?: string): Promise<string> {
    const response = await gw.post('/flow_runs/', {
      flow_id: flowId,
      deployment_id: deploymentId,
      state: { type: 'SCHEDULED', state_details: { scheduled_time: scheduledTime } },
    });
    expect(response.status).toBe(201);
    return response.body.id as string;
  }

  const setState = (id: string, state: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    gw.post(`/flow_runs/${id}/set_state`, { state, ...extra });
  const readRun = async (id: string) => (await gw.get(`/flow_runs/${id}`)).body;
  const history = async (id: string) =>
    (await gw.db.repos.flowRunStates.historyOf(id)).map((state) => `${state.type}/${state.name}`);

  /** Moves a run forward with forced transitions (as a test fixture, not under test). */
  async function force(id: string, state: Record<string, unknown>) {
    const response = await setState(id, state, { force: true });
    expect(response.body.status).toBe('ACCEPT');
    return response.body.state as { id: string; timestamp: string };
  }

  describe('the claim (SCHEDULED → PENDING)', () => {
    it("accepts the first PENDING proposal (201) and aborts the next with Prefect's reason (200)", async () => {
      const scheduledTime = secondsFromNow(-5);
      const id = await scheduledRun(scheduledTime);

      const first = await setState(id, {
        type: 'PENDING',
        name: 'Pending',
        state_details: { transition_id: randomUUID() },
      });
      expectOperation(first, 'POST', SET_STATE, 201);
      expect(first.body).toMatchObject({
        status: 'ACCEPT',
        details: { type: 'accept_details' },
        state: { type: 'PENDING', name: 'Pending', state_details: { flow_run_id: id } },
      });
      // CopyScheduledTime: the claim keeps the time the run was scheduled for.
      expect(Date.parse(first.body.state.state_details.scheduled_time)).toBe(Date.parse(scheduledTime));

      const second = await setState(id, {
        type: 'PENDING',
        name: 'Pending',
        state_details: { transition_id: randomUUID() },
      });
      expectOperation(second, 'POST', SET_STATE, 200);
      expect(second.body).toEqual({
        state: first.body.state,
        status: 'ABORT',
        details: {
          type: 'abort_details',
          reason: 'This run is in a PENDING state and cannot transition to a PENDING state.',
        },
      });
      expect(await history(id)).toEqual(['SCHEDULED/Scheduled', 'PENDING/Pending']);
      const run = await readRun(id);
      expect(run).toMatchObject({
        state_id: first.body.state.id,
        state_type: 'PENDING',
        state_name: 'Pending',
        next_scheduled_start_time: null,
      });
      expect(run.state).toEqual(first.body.state);
    });

    it('of 10 concurrent claims on one run, exactly one is accepted', async () => {
      const id = await scheduledRun();
      const claims = await Promise.all(
        Array.from({ length: 10 }, () =>
          setState(id, { type: 'PENDING', state_details: { transition_id: randomUUID() } }),
        ),
      );
      const statuses = claims.map((claim) => claim.body.status as string);
      expect(statuses.filter((status) => status === 'ACCEPT')).toHaveLength(1);
      expect(statuses.filter((status) => status === 'ABORT')).toHaveLength(9);
      expect(claims.map((claim) => claim.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
      const winner = claims.find((claim) => claim.body.status === 'ACCEPT')!;
      for (const loser of claims.filter((claim) => claim !== winner)) {
        expect(loser.body.state.id).toBe(winner.body.state.id);
      }
      expect(await history(id)).toEqual(['SCHEDULED/Scheduled', 'PENDING/Pending']);
    });

    it('a claim that waited for the run while another transaction committed a state sees that state', async () => {
      // Another writer holds the run's row and commits a PENDING state while the claim waits for the lock: the claim's
      // read began before that commit, so it must read the state again once it holds the lock.
      const id = await scheduledRun();
      const other = new Client({ connectionString: gw.config.db.url });
      await other.connect();
      try {
        const stateId = randomUUID();
        await other.query('BEGIN');
        await other.query('SELECT id FROM flow_run WHERE id = $1 FOR UPDATE', [id]);
        await other.query(
          `INSERT INTO flow_run_state (id, flow_run_id, type, name, timestamp, state_details)
           VALUES ($1, $2::uuid, 'PENDING', 'Pending', now(), jsonb_build_object('flow_run_id', $2::text))`,
          [stateId, id],
        );
        await other.query(
          `UPDATE flow_run SET state_id = $1, state_type = 'PENDING', state_name = 'Pending', state_timestamp = now(),
                  next_scheduled_start_time = NULL WHERE id = $2`,
          [stateId, id],
        );
        const claim = setState(id, { type: 'PENDING', state_details: { transition_id: randomUUID() } });
        await new Promise((resolve) => setTimeout(resolve, 500));
        await other.query('COMMIT');
        const response = await claim;
        expect(response.body).toMatchObject({ status: 'ABORT', state: { id: stateId, type: 'PENDING' } });
        expect(await history(id)).toEqual(['SCHEDULED/Scheduled', 'PENDING/Pending']);
      } finally {
        await other.end();
      }
    });

    it('lets the winner move to named PENDING sub-states, but never back to "Pending"', async () => {
      const id = await scheduledRun();
      await setState(id, { type: 'PENDING' });
      const submitting = await setState(id, { type: 'PENDING', name: 'Submitting' });
      expectOperation(submitting, 'POST', SET_STATE, 201);
      expect(submitting.body).toMatchObject({ status: 'ACCEPT', state: { name: 'Submitting' } });
      const again = await setState(id, { type: 'PENDING', name: 'Pending' });
      expect(again.body).toMatchObject({ status: 'ABORT', state: { name: 'Submitting' } });
    });

    it('answers a retried request (same transition_id) with the current state', async () => {
      const id = await scheduledRun();
      const proposal = { type: 'PENDING', state_details: { transition_id: randomUUID() } };
      const first = await setState(id, proposal);
      const retried = await setState(id, proposal);
      expectOperation(retried, 'POST', SET_STATE, 200);
      expect(retried.body).toEqual({
        state: first.body.state,
        status: 'REJECT',
        details: { type: 'reject_details', reason: 'This run has already made this state transition.' },
      });
      expect(await history(id)).toHaveLength(2);
    });
  });

  describe('running a run', () => {
    it('makes a run wait for its scheduled time before RUNNING, writing nothing', async () => {
      const id = await scheduledRun(secondsFromNow(60));
      await setState(id, { type: 'PENDING' });
      const before = await readRun(id);
      const early = await setState(id, { type: 'RUNNING' });
      expectOperation(early, 'POST', SET_STATE, 200);
      expect(early.body).toMatchObject({
        status: 'WAIT',
        details: { type: 'wait_details', reason: 'Scheduled time is in the future' },
      });
      expect(early.body.details.delay_seconds).toBeGreaterThanOrEqual(59);
      expect(early.body.details.delay_seconds).toBeLessThanOrEqual(60);
      expect(early.body.state.id).toBe(before.state_id);
      expect(await readRun(id)).toMatchObject({ state_type: 'PENDING', run_count: 0, start_time: null });
    });

    it("keeps the run's bookkeeping through PENDING, RUNNING and COMPLETED", async () => {
      const scheduledTime = secondsFromNow(-30);
      const id = await scheduledRun(scheduledTime);
      expect(await readRun(id)).toMatchObject({
        state_type: 'SCHEDULED',
        state_name: 'Scheduled',
        expected_start_time: scheduledTime,
        next_scheduled_start_time: scheduledTime,
        run_count: 0,
      });
      const late = (await readRun(id)).estimated_start_time_delta as number;
      expect(late).toBeGreaterThanOrEqual(30);

      await setState(id, { type: 'PENDING' });
      const running = await setState(id, { type: 'RUNNING' });
      expectOperation(running, 'POST', SET_STATE, 201);
      const runningRun = await readRun(id);
      expect(runningRun).toMatchObject({
        state_type: 'RUNNING',
        run_count: 1,
        start_time: running.body.state.timestamp,
        expected_start_time: scheduledTime,
        next_scheduled_start_time: null,
        end_time: null,
      });
      expect(runningRun.estimated_run_time).toBeGreaterThanOrEqual(0);

      await new Promise((resolve) => setTimeout(resolve, 20));
      const completed = await setState(id, { type: 'COMPLETED', data: { type: 'reference', storage_key: 'k' } });
      expect(completed.body).toMatchObject({
        status: 'ACCEPT',
        state: { type: 'COMPLETED', data: { type: 'reference', storage_key: 'k' } },
      });
      const done = await readRun(id);
      expect(done).toMatchObject({ state_type: 'COMPLETED', end_time: completed.body.state.timestamp, run_count: 1 });
      const ran = (Date.parse(completed.body.state.timestamp) - Date.parse(running.body.state.timestamp)) / 1000;
      expect(done.total_run_time).toBeCloseTo(ran, 6);
      expect(done.estimated_run_time).toBeCloseTo(ran, 6);
      expect(done.state.data).toEqual({ type: 'reference', storage_key: 'k' });
    });

    it('echoes an unpersisted result without keeping it', async () => {
      const id = await scheduledRun();
      await force(id, { type: 'RUNNING' });
      const completed = await setState(id, { type: 'COMPLETED', data: { type: 'unpersisted' } });
      expect(completed.body.state.data).toEqual({ type: 'unpersisted' });
      expect((await readRun(id)).state.data).toBeNull();
    });
  });

  describe('terminal states', () => {
    it('keeps a COMPLETED run with a persisted result, and refuses CRASHED after the fact', async () => {
      const id = await scheduledRun();
      const completed = await force(id, { type: 'COMPLETED', data: { type: 'reference', storage_key: 'k' } });
      const rerun = await setState(id, { type: 'RUNNING' });
      expectOperation(rerun, 'POST', SET_STATE, 200);
      expect(rerun.body).toMatchObject({
        status: 'REJECT',
        details: { reason: 'Run is already COMPLETED.' },
        state: { id: completed.id },
      });
      const crashed = await setState(id, { type: 'CRASHED' });
      expect(crashed.body).toMatchObject({
        status: 'ABORT',
        details: { reason: 'Run is already in terminal state COMPLETED.' },
      });
      expect(await history(id)).toEqual(['SCHEDULED/Scheduled', 'COMPLETED/Completed']);
    });

    it('reschedules a failed run only when it belongs to a deployment', async () => {
      const adHoc = await scheduledRun();
      await force(adHoc, { type: 'FAILED' });
      const refused = await setState(adHoc, { type: 'SCHEDULED' });
      expect(refused.body).toMatchObject({
        status: 'ABORT',
        details: { reason: 'Cannot reschedule a run without an associated deployment.' },
      });

      const deployed = await scheduledRun(undefined, randomUUID());
      await force(deployed, { type: 'FAILED' });
      const retry = await setState(deployed, {
        type: 'SCHEDULED',
        name: 'AwaitingRetry',
        state_details: { scheduled_time: secondsFromNow(30) },
      });
      expectOperation(retry, 'POST', SET_STATE, 201);
      const run = await readRun(deployed);
      expect(run).toMatchObject({
        state_type: 'SCHEDULED',
        state_name: 'AwaitingRetry',
        end_time: null,
        empirical_policy: { retry_type: 'reschedule' },
      });
      expect(run.next_scheduled_start_time).toBe(retry.body.state.state_details.scheduled_time);
    });

    it('cancels a SCHEDULED run without infrastructure directly (REJECT into a new CANCELLED state)', async () => {
      const id = await scheduledRun();
      const cancelling = await setState(id, { type: 'CANCELLING' });
      expectOperation(cancelling, 'POST', SET_STATE, 201);
      expect(cancelling.body).toMatchObject({
        status: 'REJECT',
        state: { type: 'CANCELLED', name: 'Cancelled' },
        details: { type: 'reject_details', reason: 'Scheduled flow run has no infrastructure to terminate.' },
      });
      expect(await readRun(id)).toMatchObject({ state_type: 'CANCELLED', next_scheduled_start_time: null });
    });
  });

  describe('force', () => {
    it('bypasses the core rules: a RUNNING run can be forced back to PENDING', async () => {
      const id = await scheduledRun();
      await setState(id, { type: 'PENDING' });
      await force(id, { type: 'RUNNING' });
      expect((await setState(id, { type: 'PENDING' })).body.status).toBe('ABORT');
      const forced = await setState(id, { type: 'PENDING' }, { force: true });
      expectOperation(forced, 'POST', SET_STATE, 201);
      expect(forced.body).toMatchObject({ status: 'ACCEPT', state: { type: 'PENDING' } });
      expect(await readRun(id)).toMatchObject({ state_type: 'PENDING', run_count: 1 });
    });

    it('treats an explicit null force as false, and ignores unknown body keys', async () => {
      const id = await scheduledRun();
      await setState(id, { type: 'PENDING' });
      const response = await setState(id, { type: 'PENDING' }, { force: null, colour: 'red' });
      expect(response.body.status).toBe('ABORT');
    });
  });

  describe('bad input', () => {
    it("404 with Prefect's exception_message for an unknown run", async () => {
      const id = randomUUID();
      const response = await setState(id, { type: 'PENDING' });
      expect(response.status).toBe(404);
      expect(response.body).toEqual({ exception_message: `Flow run with id ${id} not found` });
    });

    it.each([
      ['an unknown state type', { state: { type: 'WAITING' } }, ['body', 'state', 'type'], 'enum'],
      [
        'an extra key in StateCreate',
        { state: { type: 'PENDING', colour: 'red' } },
        ['body', 'state', 'colour'],
        'extra_forbidden',
      ],
      ['no state', { force: true }, ['body', 'state'], 'missing'],
      ['a state that is not an object', { state: 'PENDING' }, ['body', 'state'], 'model_type'],
      [
        'a bad scheduled time',
        { state: { type: 'SCHEDULED', state_details: { scheduled_time: 'soon' } } },
        ['body', 'state', 'state_details', 'scheduled_time'],
        'value_error',
      ],
      [
        'a bad transition id',
        { state: { type: 'PENDING', state_details: { transition_id: 'x' } } },
        ['body', 'state', 'state_details', 'transition_id'],
        'uuid_parsing',
      ],
      ['a non-boolean force', { state: { type: 'PENDING' }, force: 'yes please' }, ['body', 'force'], 'bool_parsing'],
      [
        'a null name of a non-null field',
        { state: { type: 'PENDING', state_details: { pause_reschedule: null } } },
        ['body', 'state', 'state_details', 'pause_reschedule'],
        'bool_type',
      ],
    ])('422 for %s, nothing written', async (_case, body, loc, type) => {
      const id = await scheduledRun();
      const response = await gw.post(`/flow_runs/${id}/set_state`, body);
      expect(response.status).toBe(422);
      expect(response.body).toMatchObject({ exception_message: 'Invalid request received.', request_body: body });
      expect(response.body.exception_detail).toContainEqual(expect.objectContaining({ type, loc }));
      expect(await history(id)).toEqual(['SCHEDULED/Scheduled']);
    });

    it('names the allowed state types in the enum error', async () => {
      const id = await scheduledRun();
      const response = await setState(id, { type: 'pending' });
      expect(response.body.exception_detail[0].msg).toBe(
        "Input should be 'SCHEDULED', 'PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED', 'CRASHED', 'PAUSED' or 'CANCELLING'",
      );
    });

    it('drops unknown keys inside state_details (a plain model)', async () => {
      const id = await scheduledRun();
      const response = await setState(id, { type: 'PENDING', state_details: { future_field: 1 } });
      expect(response.body.status).toBe('ACCEPT');
      expect(response.body.state.state_details).not.toHaveProperty('future_field');
    });

    it('404 Not Found for a malformed id (the route does not match), and 400 for a malformed API version header', async () => {
      const malformed = await gw.post('/flow_runs/not-a-uuid/set_state', { state: { type: 'PENDING' } });
      expect(malformed).toMatchObject({ status: 404, body: { detail: 'Not Found' } });

      const id = await scheduledRun();
      const badVersion = await gw.request(
        'POST',
        `/flow_runs/${id}/set_state`,
        { state: { type: 'PENDING' } },
        { 'x-prefect-api-version': '0.8' },
      );
      expect(badVersion.status).toBe(400);
      expect(badVersion.body).toEqual({
        detail: "Invalid X-PREFECT-API-VERSION header format.Expected header in format 'x.y.z' but received 0.8",
      });
      expect(await history(id)).toEqual(['SCHEDULED/Scheduled']);
    });
  });
});
