import { randomUUID } from 'node:crypto';
import { TestGateway } from '../support/gateway';
import { expectOperation } from '../support/openapi';
import { TestScheduler } from '../support/scheduler';

/*
 * Answers that differed from Prefect 3.9.1's server (issue 12), each checked against that server on Postgres with
 * the same requests.
 */

const inSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString();

describe('answers as Prefect 3.9.1 gives them', () => {
  let gw: TestGateway;
  let flowId: string;

  beforeAll(async () => {
    gw = await TestGateway.start();
    flowId = (await gw.post('/flows/', { name: 'parity' })).body.id;
  });
  afterAll(() => gw.stop());

  async function deployment(body: Record<string, unknown> = {}) {
    const response = await gw.post('/deployments/', { name: `d-${randomUUID()}`, flow_id: flowId, ...body });
    expect(response.status).toBe(201);
    return response.body;
  }

  const queueOf = (response: { work_queue_name: string; work_queue_id: string; work_pool_name: string }) => ({
    work_queue_name: response.work_queue_name,
    work_pool_name: response.work_pool_name,
  });

  async function priorities(pool: string): Promise<Record<string, number>> {
    const queues = (await gw.post(`/work_pools/${pool}/queues/filter`, {})).body as {
      name: string;
      priority: number;
    }[];
    return Object.fromEntries(queues.map((queue) => [queue.name, queue.priority]));
  }

  describe('deployments', () => {
    it('a work_queue_name alone finds or makes its queue in default-agent-pool, as ensure_work_queue_exists', async () => {
      await gw.post('/work_pools/', { name: 'elsewhere', type: 'process' });
      await gw.post('/work_pools/elsewhere/queues', { name: 'shared' });

      // No agent pool yet: a queue of that name in any pool is taken (Prefect's lookup does the same).
      expect(queueOf(await deployment({ work_queue_name: 'shared' }))).toEqual({
        work_queue_name: 'shared',
        work_pool_name: 'elsewhere',
      });
      expect((await gw.get('/work_pools/default-agent-pool')).status).toBe(404);

      // No queue of that name anywhere: the agent pool is created, and the queue in it at priority 1.
      const created = await deployment({ work_queue_name: 'fresh' });
      expect(queueOf(created)).toEqual({ work_queue_name: 'fresh', work_pool_name: 'default-agent-pool' });
      const agentPool = await gw.get('/work_pools/default-agent-pool');
      expect(agentPool.body).toMatchObject({ type: 'prefect-agent', status: null, description: null });
      expect(await priorities('default-agent-pool')).toEqual({ fresh: 1, default: 2 });
      const fresh = await gw.get(`/work_pools/default-agent-pool/queues/fresh`);
      expect(fresh.body).toMatchObject({ id: created.work_queue_id, description: '' });

      // With the agent pool, only its queues count: `shared` is made there, and a patch does the same.
      expect(queueOf(await deployment({ work_queue_name: 'shared' }))).toEqual({
        work_queue_name: 'shared',
        work_pool_name: 'default-agent-pool',
      });
      expect(await priorities('default-agent-pool')).toEqual({ shared: 1, fresh: 2, default: 3 });
      const patched = await deployment({ work_pool_name: 'elsewhere' });
      expect((await gw.patch(`/deployments/${patched.id}`, { work_queue_name: 'later' })).status).toBe(204);
      expect(queueOf((await gw.get(`/deployments/${patched.id}`)).body)).toEqual({
        work_queue_name: 'later',
        work_pool_name: 'default-agent-pool',
      });

      // `default` is the agent pool's default queue, not a second one.
      const onDefault = await deployment({ work_queue_name: 'default' });
      expect(onDefault.work_queue_id).toBe(agentPool.body.default_queue_id);
      expect(Object.keys(await priorities('default-agent-pool'))).toHaveLength(4);
    });

    it('shows the concurrency limit as global_concurrency_limit, with its busy slots', async () => {
      const created = await deployment({ concurrency_limit: 3 });
      expectOperation({ status: 201, body: created }, 'POST', '/deployments/', 201);
      expect(created.concurrency_limit).toBeNull();
      expect(created.global_concurrency_limit).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        created: expect.any(String),
        updated: expect.any(String),
        active: true,
        name: `deployment:${created.id}`,
        limit: 3,
        active_slots: 0,
        slot_decay_per_second: 0,
      });
      const limitId = created.global_concurrency_limit.id;

      const run = await gw.post(`/deployments/${created.id}/create_flow_run`, { state: { type: 'SCHEDULED' } });
      const claim = await gw.post(`/flow_runs/${run.body.id}/set_state`, { state: { type: 'PENDING' } });
      expect(claim.body.status).toBe('ACCEPT');
      const busy = (await gw.get(`/deployments/${created.id}`)).body;
      expect(busy.global_concurrency_limit).toMatchObject({ id: limitId, limit: 3, active_slots: 1 });
      const listed = (await gw.post('/deployments/filter', { deployments: { id: { any_: [created.id] } } })).body;
      expect(listed[0].global_concurrency_limit).toMatchObject({ id: limitId, active_slots: 1 });

      // A new value keeps the limit's identity; removing it drops it; setting one again makes a new one.
      await gw.patch(`/deployments/${created.id}`, { concurrency_limit: 5 });
      const raised = (await gw.get(`/deployments/${created.id}`)).body.global_concurrency_limit;
      expect(raised).toMatchObject({ id: limitId, limit: 5, created: created.global_concurrency_limit.created });
      expect(raised.updated > created.global_concurrency_limit.updated).toBe(true);
      await gw.patch(`/deployments/${created.id}`, { concurrency_limit: null });
      expect((await gw.get(`/deployments/${created.id}`)).body.global_concurrency_limit).toBeNull();
      await gw.patch(`/deployments/${created.id}`, { concurrency_limit: 4 });
      const renewed = (await gw.get(`/deployments/${created.id}`)).body.global_concurrency_limit;
      expect(renewed).toMatchObject({ limit: 4 });
      expect(renewed.id).not.toBe(limitId);

      expect((await deployment()).global_concurrency_limit).toBeNull();
    });

    it('concurrency_options always carry grace_period_seconds', async () => {
      const created = await deployment({
        concurrency_limit: 1,
        concurrency_options: { collision_strategy: 'ENQUEUE' },
      });
      expect(created.concurrency_options).toEqual({ collision_strategy: 'ENQUEUE', grace_period_seconds: null });
      expect((await gw.get(`/deployments/${created.id}`)).body.concurrency_options).toEqual({
        collision_strategy: 'ENQUEUE',
        grace_period_seconds: null,
      });
    });

    it('lists schedules newest first and drops max_scheduled_runs sent with the deployment', async () => {
      const schedules = [
        { schedule: { interval: 60 }, max_scheduled_runs: 5, slug: 'first' },
        { schedule: { interval: 120 }, max_scheduled_runs: 7, slug: 'second' },
        { schedule: { interval: 180 }, slug: 'third' },
      ];
      const created = await deployment({ schedules });
      const summary = (body: { schedules: { slug: string; max_scheduled_runs: number | null }[] }) =>
        body.schedules.map(({ slug, max_scheduled_runs }) => [slug, max_scheduled_runs]);
      expect(summary(created)).toEqual([
        ['third', null],
        ['second', null],
        ['first', null],
      ]);
      expect(summary((await gw.get(`/deployments/${created.id}`)).body)).toEqual(summary(created));
      const listed = await gw.get(`/deployments/${created.id}/schedules`);
      expect(listed.body.map((schedule: { slug: string }) => schedule.slug)).toEqual(['third', 'second', 'first']);

      // A patch that replaces the schedules drops it too; the schedules routes keep it.
      const plain = await deployment({ schedules: [{ schedule: { interval: 60 } }] });
      await gw.patch(`/deployments/${plain.id}`, {
        schedules: [
          { schedule: { interval: 60 }, max_scheduled_runs: 5 },
          { schedule: { interval: 90 }, max_scheduled_runs: 6 },
        ],
      });
      const replaced = (await gw.get(`/deployments/${plain.id}`)).body.schedules;
      expect(replaced.map((s: { schedule: { interval: number } }) => s.schedule.interval)).toEqual([90, 60]);
      expect(replaced.map((s: { max_scheduled_runs: number | null }) => s.max_scheduled_runs)).toEqual([null, null]);
      const added = await gw.post(`/deployments/${plain.id}/schedules`, [
        { schedule: { interval: 30 }, max_scheduled_runs: 4 },
      ]);
      expect(added.body[0].max_scheduled_runs).toBe(4);
    });

    it('keeps a schedule anchor sent with an offset as sent', async () => {
      const anchor = '2030-01-01T10:00:00+02:00';
      const created = await deployment({
        schedules: [{ schedule: { interval: 60, anchor_date: anchor, timezone: 'Europe/Paris' } }],
      });
      expect(created.schedules[0].schedule).toEqual({ interval: 60, anchor_date: anchor, timezone: 'Europe/Paris' });
      expect((await gw.get(`/deployments/${created.id}`)).body.schedules[0].schedule.anchor_date).toBe(anchor);
    });

    it('create_flow_run without a body is a 422, as FastAPI answers a missing required body', async () => {
      const created = await deployment();
      const withAndWithoutType: Record<string, string>[] = [{}, { 'content-type': 'application/json' }];
      for (const headers of withAndWithoutType) {
        const response = await gw.request('POST', `/deployments/${created.id}/create_flow_run`, undefined, headers);
        expect(response.status).toBe(422);
        expect(response.body).toEqual({
          exception_message: 'Invalid request received.',
          exception_detail: [{ type: 'missing', loc: ['body'], msg: 'Field required', input: null }],
          request_body: null,
        });
      }
      expect((await gw.post(`/deployments/${created.id}/create_flow_run`, {})).status).toBe(201);
    });
  });

  describe('flow runs', () => {
    it('shows {} for job variables never given, in every flow-run response', async () => {
      const omitted = await gw.post('/flow_runs/', { flow_id: flowId });
      const nulled = await gw.post('/flow_runs/', { flow_id: flowId, job_variables: null });
      for (const created of [omitted, nulled]) {
        expect(created.status).toBe(201);
        expect(created.body.job_variables).toEqual({});
        expect((await gw.get(`/flow_runs/${created.body.id}`)).body.job_variables).toEqual({});
      }
      const filtered = await gw.post('/flow_runs/filter', { flow_runs: { id: { any_: [omitted.body.id] } } });
      expect(filtered.body[0].job_variables).toEqual({});
      const fromDeployment = await gw.post(`/deployments/${(await deployment()).id}/create_flow_run`, {
        job_variables: null,
      });
      expect(fromDeployment.body.job_variables).toEqual({});
    });

    it('deleting a flow run deletes its logs, its task runs’ included', async () => {
      const run = (await gw.post('/flow_runs/', { flow_id: flowId })).body;
      const other = (await gw.post('/flow_runs/', { flow_id: flowId })).body;
      const log = (flowRunId: string, taskRunId: string | null) => ({
        name: 'prefect.flow_runs',
        level: 20,
        message: `line of ${flowRunId}`,
        timestamp: new Date().toISOString(),
        flow_run_id: flowRunId,
        task_run_id: taskRunId,
      });
      const sent = await gw.post('/logs/', [log(run.id, null), log(run.id, randomUUID()), log(other.id, null)]);
      expect(sent.status).toBe(201);
      const logsOf = async (id: string) =>
        (await gw.post('/logs/filter', { logs: { flow_run_id: { any_: [id] } } })).body.length;
      expect(await logsOf(run.id)).toBe(2);

      expect((await gw.delete(`/flow_runs/${run.id}`)).status).toBe(204);
      expect(await logsOf(run.id)).toBe(0);
      expect(await logsOf(other.id)).toBe(1);
      expect((await gw.delete(`/flow_runs/${run.id}`)).status).toBe(404);
    });

    it('echoes the offset a time was sent with where Prefect keeps it: state details, and the new run’s answer', async () => {
      const sent = '2030-01-01T10:00:00+02:00';
      const created = await gw.post('/flow_runs/', {
        flow_id: flowId,
        state: { type: 'SCHEDULED', state_details: { scheduled_time: sent } },
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ expected_start_time: sent, next_scheduled_start_time: sent });
      expect(created.body.state.state_details.scheduled_time).toBe(sent);

      // timestamptz columns read back in UTC; the state details are JSON and keep the offset.
      const read = (await gw.get(`/flow_runs/${created.body.id}`)).body;
      expect(new Date(read.expected_start_time).toISOString()).toBe('2030-01-01T08:00:00.000Z');
      expect(read.expected_start_time).toMatch(/Z$/);
      expect(read.next_scheduled_start_time).toMatch(/Z$/);
      expect(read.state.state_details.scheduled_time).toBe(sent);

      const moved = await gw.post(`/flow_runs/${created.body.id}/set_state`, {
        state: { type: 'SCHEDULED', state_details: { scheduled_time: '2031-01-01T10:00:00.250+05:00' } },
        force: true,
      });
      expect(moved.body.state.state_details.scheduled_time).toBe('2031-01-01T10:00:00.250000+05:00');
      const reread = (await gw.get(`/flow_runs/${created.body.id}`)).body;
      expect(reread.next_scheduled_start_time).toBe('2031-01-01T05:00:00.250Z');
      expect(reread.state.state_details.scheduled_time).toBe('2031-01-01T10:00:00.250000+05:00');
      const filtered = await gw.post('/flow_runs/filter', { flow_runs: { id: { any_: [created.body.id] } } });
      expect(filtered.body[0].state.state_details.scheduled_time).toBe('2031-01-01T10:00:00.250000+05:00');

      // A UTC offset renders as every other instant does.
      const utc = await gw.post('/flow_runs/', {
        flow_id: flowId,
        state: { type: 'SCHEDULED', state_details: { scheduled_time: '2030-01-01T10:00:00+00:00' } },
      });
      expect(utc.body.expected_start_time).toBe('2030-01-01T10:00:00.000Z');
      expect(utc.body.state.state_details.scheduled_time).toBe('2030-01-01T10:00:00.000Z');
    });

    it('a run of a deleted pool keeps its queue name and loses its queue and pool, as in Prefect', async () => {
      await gw.post('/work_pools/', { name: 'doomed', type: 'process' });
      const onPool = await deployment({ work_pool_name: 'doomed', work_queue_name: 'qq' });
      const run = (await gw.post(`/deployments/${onPool.id}/create_flow_run`, {})).body;
      expect(run).toMatchObject({ work_queue_name: 'qq', work_pool_name: 'doomed' });
      expect((await gw.delete('/work_pools/doomed')).status).toBe(204);
      expect((await gw.get(`/flow_runs/${run.id}`)).body).toMatchObject({
        work_queue_name: 'qq',
        work_queue_id: null,
        work_pool_name: null,
        work_pool_id: null,
      });
      expect((await gw.get(`/deployments/${onPool.id}`)).body).toMatchObject({
        work_queue_name: 'qq',
        work_queue_id: null,
        work_pool_name: null,
      });
    });
  });

  describe('work queues', () => {
    it('a null description is stored as "" on create, and a null one in an update is refused (NOT NULL)', async () => {
      await gw.post('/work_pools/', { name: 'described', type: 'process' });
      const created = await gw.post('/work_pools/described/queues', { name: 'q', description: null });
      expect(created.status).toBe(201);
      expect(created.body.description).toBe('');
      expect((await gw.get('/work_pools/described/queues/q')).body.description).toBe('');
      expect((await gw.patch('/work_pools/described/queues/q', { description: 'x' })).status).toBe(204);
      const nulled = await gw.patch('/work_pools/described/queues/q', { description: null });
      expect(nulled.status).toBe(409);
      expect((await gw.get('/work_pools/described/queues/q')).body.description).toBe('x');
    });
  });
});

describe('the poll hands out each run with its current state, as Prefect 3.9.1', () => {
  let gw: TestGateway;
  let scheduler: TestScheduler;
  let flowId: string;

  beforeAll(async () => {
    gw = await TestGateway.start({ LOG_LEVEL: 'warn' });
    scheduler = await TestScheduler.start(gw.config);
    flowId = (await gw.post('/flows/', { name: 'polled' })).body.id;
  });
  afterAll(async () => {
    await scheduler.stop();
    await gw.stop();
  });

  async function scheduledRun(pool: string, startsIn: number) {
    const response = await gw.post('/flow_runs/', {
      flow_id: flowId,
      work_pool_name: pool,
      state: { type: 'SCHEDULED', message: 'waiting', state_details: { scheduled_time: inSeconds(startsIn) } },
    });
    expect(response.status).toBe(201);
    return response.body;
  }

  async function pollUntilSome(pool: string, body: object) {
    const deadline = Date.now() + 5000;
    for (;;) {
      const response = await gw.post(`/work_pools/${pool}/get_scheduled_flow_runs`, body);
      if (response.body.length > 0 || Date.now() > deadline) return response;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('from the bus (a due run) and from Postgres (past the dispatch horizon) alike', async () => {
    await gw.post('/work_pools/', { name: 'polled', type: 'process' });
    for (const startsIn of [0, 3600]) {
      const run = await scheduledRun('polled', startsIn);
      const response = await pollUntilSome('polled', { scheduled_before: inSeconds(startsIn + 10) });
      expectOperation(response, 'POST', '/work_pools/{name}/get_scheduled_flow_runs', 200);
      expect(response.body.map((entry: { flow_run: { id: string } }) => entry.flow_run.id)).toEqual([run.id]);
      const { flow_run: polled } = response.body[0];
      expect(polled.state).toEqual(run.state);
      expect(polled.state).toMatchObject({ id: polled.state_id, type: 'SCHEDULED', message: 'waiting' });
      expect(polled.job_variables).toEqual({});
    }
  });
});
