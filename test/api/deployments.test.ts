import type { FlowRunEntity } from '@app/persistence';
import { expectOperation } from '../support/openapi';
import { TestGateway } from '../support/gateway';

const INTEGRITY_CONFLICT =
  'Data integrity conflict. This usually means a unique or foreign key constraint was violated. See server logs for details.';
const HOUR = 3600_000;

describe('deployments API', () => {
  let gw: TestGateway;
  let flowId: string;

  beforeAll(async () => {
    gw = await TestGateway.start();
    flowId = (await gw.post('/flows/', { name: 'etl', labels: { team: 'data', tier: 1 } })).body.id;
  });
  afterAll(() => gw.stop());

  /** A work pool with its default queue, written directly (pools have their own API and tests). */
  async function workPool(name: string, queues: string[] = []) {
    const pool = await gw.db.repos.workPools.insert({ name, type: 'process' });
    const defaultQueue = await gw.db.repos.workQueues.insert({ work_pool_id: pool.id, name: 'default', priority: 1 });
    await gw.db.repos.workPools.updateById(pool.id, { default_queue_id: defaultQueue.id });
    const others = [];
    for (const [index, queue] of queues.entries()) {
      others.push(await gw.db.repos.workQueues.insert({ work_pool_id: pool.id, name: queue, priority: index + 2 }));
    }
    return { pool, defaultQueue, queues: others };
  }

  async function deployment(body: Record<string, unknown>) {
    const response = await gw.post('/deployments/', { flow_id: flowId, ...body });
    expect([200, 201]).toContain(response.status);
    return response.body;
  }

  async function deploymentCount(): Promise<number> {
    return (await gw.post('/deployments/count', {})).body;
  }

  /** A waiting run of the deployment, as the scheduler or a user would have made it. */
  function run(deploymentId: string, values: Partial<FlowRunEntity>): Promise<FlowRunEntity> {
    return gw.db.repos.flowRuns.insert({
      name: `run-${Math.random()}`,
      flow_id: flowId,
      deployment_id: deploymentId,
      state_type: 'SCHEDULED',
      state_name: 'Scheduled',
      auto_scheduled: true,
      run_count: 0,
      next_scheduled_start_time: new Date(Date.now() + HOUR),
      ...values,
    });
  }

  /** One run per case `_delete_scheduled_runs` tells apart; resolves to a function listing the survivors. */
  async function runsOfEveryKind(deploymentId: string) {
    const runs = {
      autoFuture: await run(deploymentId, {}),
      autoPast: await run(deploymentId, { next_scheduled_start_time: new Date(Date.now() - HOUR) }),
      manualFuture: await run(deploymentId, { auto_scheduled: false }),
      awaitingSlot: await run(deploymentId, { state_name: 'AwaitingConcurrencySlot' }),
      alreadyRan: await run(deploymentId, { run_count: 1 }),
      running: await run(deploymentId, { state_type: 'RUNNING', state_name: 'Running' }),
    };
    return async () => {
      const left: string[] = [];
      for (const [kind, row] of Object.entries(runs)) if (await gw.db.repos.flowRuns.findById(row.id)) left.push(kind);
      return left;
    };
  }

  describe('create (upsert on flow and name)', () => {
    it('creates with 201 and Prefect defaults, the flow labels and the pool default queue', async () => {
      await workPool('create-pool');
      const response = await gw.post('/deployments/', {
        name: 'nightly',
        flow_id: flowId,
        work_pool_name: 'create-pool',
        tags: ['a'],
        labels: { tier: 2 },
        parameters: { x: 1 },
        job_variables: { image: 'python:3.12' },
        entrypoint: 'flows.py:etl',
        concurrency_options: { collision_strategy: 'CANCEL_NEW', grace_period_seconds: 120 },
        version_info: { type: 'git', version: 'abc', branch: 'main' },
      });
      expectOperation(response, 'POST', '/deployments/', 201);
      expect(response.body).toMatchObject({
        name: 'nightly',
        flow_id: flowId,
        paused: false,
        status: 'NOT_READY',
        enforce_parameter_schema: true,
        parameter_openapi_schema: {},
        pull_steps: [],
        tags: ['a'],
        labels: { team: 'data', tier: 2, 'prefect.flow.id': flowId },
        parameters: { x: 1 },
        job_variables: { image: 'python:3.12' },
        work_pool_name: 'create-pool',
        work_queue_name: 'default',
        concurrency_limit: null,
        global_concurrency_limit: null,
        concurrency_options: { collision_strategy: 'CANCEL_NEW', grace_period_seconds: 120 },
        created_by: null,
        updated_by: null,
        last_polled: null,
        schedules: [],
      });
      expect(response.body.created).toMatch(/Z$/);
    });

    it('updates only the sent fields of an existing deployment (200) and replaces its schedules', async () => {
      const first = await gw.post('/deployments/', {
        name: 'upsert',
        flow_id: flowId,
        description: 'kept',
        tags: ['old'],
        schedules: [{ schedule: { interval: 60 } }],
      });
      expectOperation(first, 'POST', '/deployments/', 201);
      const second = await gw.post('/deployments/', { name: 'upsert', flow_id: flowId, tags: ['new'] });
      expectOperation(second, 'POST', '/deployments/', 200);
      expect(second.body).toMatchObject({ id: first.body.id, description: 'kept', tags: ['new'], schedules: [] });
      expect(Date.parse(second.body.updated)).toBeGreaterThan(Date.parse(first.body.updated));
    });

    it('drops the future auto-scheduled runs of an existing deployment on upsert', async () => {
      const { id } = await deployment({ name: 'upsert-runs' });
      const survivors = await runsOfEveryKind(id);
      await deployment({ name: 'upsert-runs', version: '2' });
      expect(await survivors()).toEqual(['autoPast', 'manualFuture', 'awaitingSlot', 'alreadyRan', 'running']);
    });

    it('stores the concurrency limit but reports it, as Prefect does, only through the deprecated null field', async () => {
      const created = await deployment({ name: 'limited', concurrency_limit: 3 });
      expect(created.concurrency_limit).toBeNull();
      expect((await gw.db.repos.deployments.findById(created.id))?.concurrency_limit).toBe(3);
    });
  });

  describe('work pool and queue resolution', () => {
    it('uses a named queue of the pool, and creates it at the first free priority when missing', async () => {
      const { pool, queues } = await workPool('resolve-pool', ['fast']);
      const existing = await deployment({ name: 'on-fast', work_pool_name: 'resolve-pool', work_queue_name: 'fast' });
      expect(existing).toMatchObject({
        work_queue_id: queues[0].id,
        work_queue_name: 'fast',
        work_pool_name: 'resolve-pool',
      });

      const created = await deployment({
        name: 'on-new',
        work_pool_name: 'resolve-pool',
        work_queue_name: 'brand-new',
      });
      const queue = await gw.db.repos.workQueues.findById(created.work_queue_id);
      expect(queue).toMatchObject({ work_pool_id: pool.id, name: 'brand-new', priority: 3, is_paused: false });
      expect(created).toMatchObject({ work_queue_name: 'brand-new', work_pool_name: 'resolve-pool' });
    });

    it('finds a queue named without a pool (legacy), and makes it in default-agent-pool when there is none', async () => {
      const { queues } = await workPool('legacy-pool', ['legacy-q']);
      expect(await deployment({ name: 'legacy', work_queue_name: 'legacy-q' })).toMatchObject({
        work_queue_id: queues[0].id,
        work_pool_name: 'legacy-pool',
      });
      expect(await deployment({ name: 'no-queue', work_queue_name: 'nowhere' })).toMatchObject({
        work_queue_id: expect.any(String),
        work_queue_name: 'nowhere',
        work_pool_name: 'default-agent-pool',
      });
    });

    it("404s for an unknown pool with Prefect's text and writes nothing", async () => {
      const before = await deploymentCount();
      const response = await gw.post('/deployments/', {
        name: 'lost',
        flow_id: flowId,
        work_pool_name: 'nope',
        work_queue_name: 'q',
      });
      expect(response).toMatchObject({ status: 404, body: { detail: 'Work pool "nope" not found.' } });
      expect(await deploymentCount()).toBe(before);
    });
  });

  describe('read', () => {
    it('reads by id and by flow and deployment name', async () => {
      const created = await deployment({ name: 'reader' });
      const byId = await gw.get(`/deployments/${created.id}`);
      expectOperation(byId, 'GET', '/deployments/{id}', 200);
      expect(byId.body).toEqual(created);
      const byName = await gw.get('/deployments/name/etl/reader');
      expectOperation(byName, 'GET', '/deployments/name/{flow_name}/{deployment_name}', 200);
      expect(byName.body.id).toBe(created.id);
    });

    it("404s with Prefect's texts", async () => {
      expect(await gw.get('/deployments/name/etl/missing')).toMatchObject({
        status: 404,
        body: { detail: 'Deployment not found' },
      });
      expect(await gw.get('/deployments/name/other-flow/reader')).toMatchObject({
        status: 404,
        body: { detail: 'Deployment not found' },
      });
      expect(await gw.get(`/deployments/${crypto.randomUUID()}`)).toMatchObject({
        status: 404,
        body: { detail: 'Deployment not found' },
      });
    });
  });

  describe('update', () => {
    it('writes only the sent fields (204) and moves the deployment between pools and queues', async () => {
      const { queues } = await workPool('patch-pool', ['patch-q']);
      const created = await deployment({ name: 'patched', description: 'before', tags: ['t'] });
      const response = await gw.patch(`/deployments/${created.id}`, {
        version: '2',
        paused: true,
        work_pool_name: 'patch-pool',
        work_queue_name: 'patch-q',
        job_variables: { env: { A: '1' } },
      });
      expect(response.status).toBe(204);
      const read = (await gw.get(`/deployments/${created.id}`)).body;
      expect(read).toMatchObject({
        description: 'before',
        tags: ['t'],
        version: '2',
        paused: true,
        job_variables: { env: { A: '1' } },
        work_queue_id: queues[0].id,
        work_pool_name: 'patch-pool',
      });

      expect((await gw.patch(`/deployments/${created.id}`, { work_pool_name: null })).status).toBe(204);
      expect((await gw.get(`/deployments/${created.id}`)).body).toMatchObject({
        work_queue_id: null,
        work_pool_name: null,
      });
    });

    it('drops the future auto-scheduled runs on any change', async () => {
      const { id } = await deployment({ name: 'patched-runs' });
      const survivors = await runsOfEveryKind(id);
      expect((await gw.patch(`/deployments/${id}`, { description: 'x' })).status).toBe(204);
      expect(await survivors()).toEqual(['autoPast', 'manualFuture', 'awaitingSlot', 'alreadyRan', 'running']);
    });

    it('replaces unslugged schedules with the listed ones', async () => {
      const created = await deployment({ name: 'resched', schedules: [{ schedule: { interval: 60 } }] });
      const response = await gw.patch(`/deployments/${created.id}`, {
        schedules: [{ schedule: { cron: '0 * * * *' }, active: false }, { active: true }],
      });
      expect(response.status).toBe(204);
      const { schedules } = (await gw.get(`/deployments/${created.id}`)).body;
      expect(schedules).toEqual([
        expect.objectContaining({ schedule: { cron: '0 * * * *', timezone: null, day_or: true }, active: false }),
      ]);
    });

    it('updates slugged schedules in place, renames through `replaces` and keeps the unmentioned ones', async () => {
      const created = await deployment({
        name: 'slugged',
        schedules: [
          { schedule: { interval: 60 }, slug: 'a', parameters: { p: 1 } },
          { schedule: { interval: 120 }, slug: 'b' },
          { schedule: { interval: 180 }, slug: 'c' },
        ],
      });
      const ids = Object.fromEntries(created.schedules.map((s: { slug: string; id: string }) => [s.slug, s.id]));
      const response = await gw.patch(`/deployments/${created.id}`, {
        schedules: [
          { slug: 'a', active: false },
          { slug: 'renamed', replaces: 'b' },
          { slug: 'd', schedule: { interval: 240 } },
        ],
      });
      expect(response.status).toBe(204);
      const bySlug = Object.fromEntries(
        (await gw.get(`/deployments/${created.id}`)).body.schedules.map((s: { slug: string }) => [s.slug, s]),
      );
      expect(Object.keys(bySlug).sort()).toEqual(['a', 'c', 'd', 'renamed']);
      // Prefect writes the update's default `parameters` ({}) too.
      expect(bySlug.a).toMatchObject({ id: ids.a, active: false, parameters: {}, schedule: { interval: 60 } });
      expect(bySlug.renamed).toMatchObject({ id: ids.b, schedule: { interval: 120 } });
      expect(bySlug.c.id).toBe(ids.c);
      expect(bySlug.d.schedule.interval).toBe(240);
    });

    it.each([
      [
        'a schedule without a slug',
        [{ schedule: { interval: 5 } }],
        'Please provide a slug for each schedule in your request to ensure schedules are updated correctly.',
      ],
      [
        'two renames of one slug',
        [
          { slug: 'x', replaces: 'a' },
          { slug: 'y', replaces: 'a' },
        ],
        "Multiple schedules have 'replaces' targeting the same slug: a",
      ],
      [
        'a rename onto a taken slug',
        [{ slug: 'b', replaces: 'a' }],
        "Cannot rename schedule from 'a' to 'b': a schedule with slug 'b' already exists.",
      ],
      [
        'a new slug without a configuration',
        [{ slug: 'new' }],
        'Unable to create new deployment schedules without a schedule configuration.',
      ],
    ])('422s for %s and changes nothing', async (_case, schedules, detail) => {
      const created = await deployment({
        name: `slug-errors-${Math.random()}`,
        schedules: [
          { schedule: { interval: 60 }, slug: 'a' },
          { schedule: { interval: 60 }, slug: 'b' },
        ],
      });
      expect(await gw.patch(`/deployments/${created.id}`, { schedules, description: 'changed' })).toMatchObject({
        status: 422,
        body: { detail },
      });
      expect((await gw.get(`/deployments/${created.id}`)).body).toMatchObject({
        description: null,
        schedules: created.schedules,
      });
    });

    it('409s when schema enforcement is on and there is no parameter schema', async () => {
      const created = await deployment({ name: 'no-schema', parameter_openapi_schema: null });
      expect(await gw.patch(`/deployments/${created.id}`, { version: '9' })).toMatchObject({
        status: 409,
        body: { detail: expect.stringContaining('parameter schema enforcement is enabled') },
      });
      expect(
        (await gw.patch(`/deployments/${created.id}`, { version: '9', enforce_parameter_schema: false })).status,
      ).toBe(204);
    });

    it('404s for an unknown deployment or pool', async () => {
      expect(await gw.patch(`/deployments/${crypto.randomUUID()}`, {})).toMatchObject({
        status: 404,
        body: { detail: 'Deployment not found.' },
      });
      const created = await deployment({ name: 'patch-unknown-pool' });
      expect(await gw.patch(`/deployments/${created.id}`, { work_pool_name: 'ghost' })).toMatchObject({
        status: 404,
        body: { detail: 'Work pool "ghost" not found.' },
      });
    });
  });

  describe('pause, resume, delete', () => {
    it('pauses (dropping every waiting auto-scheduled run) and resumes, answering 200 null', async () => {
      const { id } = await deployment({ name: 'pausable' });
      const survivors = await runsOfEveryKind(id);
      const paused = await gw.post(`/deployments/${id}/pause_deployment`);
      expectOperation(paused, 'POST', '/deployments/{id}/pause_deployment', 200);
      expect(paused.text).toBe('null');
      expect((await gw.get(`/deployments/${id}`)).body.paused).toBe(true);
      expect(await survivors()).toEqual(['manualFuture', 'awaitingSlot', 'alreadyRan', 'running']);

      const resumed = await gw.post(`/deployments/${id}/resume_deployment`);
      expectOperation(resumed, 'POST', '/deployments/{id}/resume_deployment', 200);
      expect((await gw.get(`/deployments/${id}`)).body.paused).toBe(false);
    });

    it('404s pause and resume of an unknown deployment', async () => {
      for (const action of ['pause_deployment', 'resume_deployment']) {
        expect(await gw.post(`/deployments/${crypto.randomUUID()}/${action}`)).toMatchObject({
          status: 404,
          body: { detail: 'Deployment not found' },
        });
      }
    });

    it('deletes (204) with every run still waiting to start, then 404s', async () => {
      const { id } = await deployment({ name: 'doomed' });
      const survivors = await runsOfEveryKind(id);
      expect((await gw.delete(`/deployments/${id}`)).status).toBe(204);
      expect(await survivors()).toEqual(['awaitingSlot', 'alreadyRan', 'running']);
      expect(await gw.delete(`/deployments/${id}`)).toMatchObject({
        status: 404,
        body: { detail: 'Deployment not found' },
      });
    });
  });

  describe('filter and count', () => {
    let ids: Record<string, string>;
    beforeAll(async () => {
      await workPool('filter-pool', ['filter-q']);
      const otherFlow = (await gw.post('/flows/', { name: 'reports' })).body.id;
      ids = {
        f1: (
          await deployment({
            name: 'f-one',
            tags: ['red', 'blue'],
            work_pool_name: 'filter-pool',
            work_queue_name: 'filter-q',
          })
        ).id,
        f2: (await deployment({ name: 'f-two', tags: ['red'], paused: true })).id,
        f3: (await deployment({ name: 'f-three', flow_id: otherFlow, tags: ['blue'] })).id,
      };
    });

    it.each([
      ['names', { deployments: { name: { any_: ['f-one', 'f-three'] } } }, ['f1', 'f3']],
      ['paused', { deployments: { paused: { eq_: true }, name: { like_: 'f-' } } }, ['f2']],
      ['tags', { deployments: { tags: { all_: ['red', 'blue'] } } }, ['f1']],
      ['queue names', { deployments: { work_queue_name: { any_: ['filter-q'] } } }, ['f1']],
      ['flow names', { flows: { name: { any_: ['reports'] } } }, ['f3']],
      ['work pools', { work_pools: { name: { any_: ['filter-pool'] } } }, ['f1']],
    ])('filters by %s', async (_case, body, expected) => {
      const response = await gw.post('/deployments/filter', body);
      expectOperation(response, 'POST', '/deployments/filter', 200);
      expect(response.body.map((d: { id: string }) => d.id).sort()).toEqual(expected.map((key) => ids[key]).sort());
      const count = await gw.post('/deployments/count', body);
      expectOperation(count, 'POST', '/deployments/count', 200);
      expect(count.body).toBe(expected.length);
    });

    it('presents filtered deployments in full, sorted and paged', async () => {
      const response = await gw.post('/deployments/filter', {
        deployments: { name: { like_: 'f-' } },
        sort: 'NAME_DESC',
        limit: 2,
        offset: 1,
      });
      expect(response.body.map((d: { name: string }) => d.name)).toEqual(['f-three', 'f-one']);
      expect(response.body[1]).toMatchObject({ work_pool_name: 'filter-pool', work_queue_name: 'filter-q' });
    });

    it('422s a limit above the default', async () => {
      expect(await gw.post('/deployments/filter', { limit: 201 })).toMatchObject({
        status: 422,
        body: { detail: 'Invalid limit: must be less than or equal to 200.' },
      });
    });
  });

  describe('bad input', () => {
    it.each([
      ['a missing name', { flow_id: 'F' }, 'missing', ['body', 'name']],
      ['a missing flow id', { name: 'x' }, 'missing', ['body', 'flow_id']],
      ['an unknown key', { name: 'x', flow_id: 'F', colour: 'red' }, 'extra_forbidden', ['body', 'colour']],
      ['a malformed flow id', { name: 'x', flow_id: 'nope' }, 'uuid_parsing', ['body', 'flow_id']],
      ['a banned character in the name', { name: 'a/b', flow_id: 'F' }, 'value_error', ['body', 'name']],
      [
        'a zero concurrency limit',
        { name: 'x', flow_id: 'F', concurrency_limit: 0 },
        'greater_than',
        ['body', 'concurrency_limit'],
      ],
      [
        'an unknown collision strategy',
        { name: 'x', flow_id: 'F', concurrency_options: { collision_strategy: 'DROP' } },
        'enum',
        ['body', 'concurrency_options', 'collision_strategy'],
      ],
      [
        'labels with a nested value',
        { name: 'x', flow_id: 'F', labels: { a: { b: 1 } } },
        'value_error',
        ['body', 'labels'],
      ],
      ['null tags', { name: 'x', flow_id: 'F', tags: null }, 'list_type', ['body', 'tags']],
      ['a non-boolean paused', { name: 'x', flow_id: 'F', paused: 'maybe' }, 'bool_parsing', ['body', 'paused']],
      [
        'schedules that are not a list',
        { name: 'x', flow_id: 'F', schedules: { interval: 5 } },
        'list_type',
        ['body', 'schedules'],
      ],
      [
        'parameters over the size limit',
        { name: 'x', flow_id: 'F', parameters: { blob: 'x'.repeat(600_000) } },
        'value_error',
        ['body', 'parameters'],
      ],
      [
        'both kinds of concurrency limit',
        { name: 'x', flow_id: 'F', concurrency_limit: 2, global_concurrency_limit_id: 'F' },
        'value_error',
        ['body', 'global_concurrency_limit_id'],
      ],
    ])('422s %s and writes nothing', async (_case, raw, type, loc) => {
      const before = await deploymentCount();
      const body = JSON.parse(JSON.stringify(raw).replaceAll('"F"', JSON.stringify(flowId)));
      const response = await gw.post('/deployments/', body);
      expect(response.status).toBe(422);
      expect(response.body).toMatchObject({ exception_message: 'Invalid request received.', request_body: body });
      expect(response.body.exception_detail).toContainEqual(expect.objectContaining({ type: expect.any(String), loc }));
      if (type !== 'value_error') {
        expect(response.body.exception_detail.map((d: { type: string }) => d.type)).toContain(type);
      }
      expect(await deploymentCount()).toBe(before);
    });

    it('accepts the keys older clients still send, and ignores them', async () => {
      const response = await gw.post('/deployments/', {
        name: 'old-client',
        flow_id: flowId,
        worker_pool_name: 'x',
        work_pool_queue_name: 'y',
      });
      expectOperation(response, 'POST', '/deployments/', 201);
      expect(response.body).toMatchObject({ work_queue_name: null, work_pool_name: null });
    });

    it.each([
      ['an unknown flow', () => ({ name: 'orphan', flow_id: crypto.randomUUID() }), 409, INTEGRITY_CONFLICT],
      [
        'a global concurrency limit',
        () => ({ name: 'gcl', flow_id: flowId, global_concurrency_limit_id: crypto.randomUUID() }),
        404,
        'Concurrency limit not found',
      ],
      [
        'a storage block',
        () => ({ name: 'blk', flow_id: flowId, storage_document_id: '00000000-0000-0000-0000-000000000001' }),
        409,
        'Error creating deployment. Could not find storage block with id: 00000000-0000-0000-0000-000000000001. This usually occurs when applying a deployment specification that was built against a different Prefect database / workspace.',
      ],
    ])("refuses %s with Prefect's status and text, writing nothing", async (_case, body, status, detail) => {
      const before = await deploymentCount();
      expect(await gw.post('/deployments/', body())).toMatchObject({ status, body: { detail } });
      expect(await deploymentCount()).toBe(before);
    });

    it('422s bad update bodies and keeps the deployment as it was', async () => {
      const created = await deployment({ name: 'patch-bad' });
      for (const body of [
        { name: 'renamed' },
        { tags: 'x' },
        { paused: null },
        { schedules: [{ schedule: { cron: '61 * * * *' } }] },
      ]) {
        const response = await gw.patch(`/deployments/${created.id}`, body);
        expect(response.status).toBe(422);
        expect(response.body.exception_message).toBe('Invalid request received.');
      }
      expect((await gw.get(`/deployments/${created.id}`)).body).toEqual(created);
    });

    it("refuses parameters over Prefect's size limit on update too, as its SizedParameters does", async () => {
      const created = await deployment({ name: 'patch-big' });
      const response = await gw.patch(`/deployments/${created.id}`, { parameters: { blob: 'x'.repeat(600_000) } });
      expect(response.status).toBe(422);
      expect(response.body.exception_detail).toEqual([
        expect.objectContaining({
          type: 'value_error',
          loc: ['body', 'parameters'],
          msg: expect.stringMatching(
            /^Value error, Flow run parameters must be less than 524,288 bytes when serialized \(got 600,\d{3} bytes\)\.$/,
          ),
        }),
      ]);
      expect((await gw.get(`/deployments/${created.id}`)).body).toEqual(created);
    });

    it('409s a null for a column Prefect keeps NOT NULL', async () => {
      const created = await deployment({ name: 'patch-null' });
      expect(await gw.patch(`/deployments/${created.id}`, { parameters: null })).toMatchObject({
        status: 409,
        body: { detail: INTEGRITY_CONFLICT },
      });
      expect((await gw.get(`/deployments/${created.id}`)).body.parameters).toEqual({});
    });

    it.each([
      ['GET', '/deployments/not-a-uuid'],
      ['PATCH', '/deployments/not-a-uuid'],
      ['DELETE', '/deployments/123'],
      ['POST', '/deployments/not-a-uuid/pause_deployment'],
      ['POST', '/deployments/not-a-uuid/resume_deployment'],
    ])('answers %s %s with 404 Not Found, as a route that does not match', async (method, url) => {
      expect(await gw.request(method, url, method === 'PATCH' ? {} : undefined)).toMatchObject({
        status: 404,
        body: { detail: 'Not Found' },
      });
    });

    it('422s malformed JSON', async () => {
      const response = await gw.request('POST', '/deployments/', '{"name": ');
      expect(response.status).toBe(422);
      expect(response.body.exception_detail[0].type).toBe('json_invalid');
    });
  });
});
