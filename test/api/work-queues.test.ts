import { expectOperation } from '../support/openapi';
import { TestGateway } from '../support/gateway';

const DATA_INTEGRITY =
  'Data integrity conflict. This usually means a unique or foreign key constraint was violated. See server logs for details.';

describe('work queues API', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await TestGateway.start();
  });
  afterAll(() => gw.stop());

  let poolCounter = 0;
  /** A fresh pool per test, so priorities start from the default queue alone. */
  async function newPool(): Promise<{ id: string; name: string; default_queue_id: string }> {
    const response = await gw.post('/work_pools/', { name: `pool-${++poolCounter}`, type: 'process' });
    return response.body;
  }

  async function createQueue(pool: string, body: Record<string, unknown>) {
    const response = await gw.post(`/work_pools/${pool}/queues`, body);
    expectOperation(response, 'POST', '/work_pools/{work_pool_name}/queues', 201);
    return response.body;
  }

  const priorities = async (pool: string) =>
    Object.fromEntries(
      ((await gw.post(`/work_pools/${pool}/queues/filter`)).body as { name: string; priority: number }[]).map((q) => [
        q.name,
        q.priority,
      ]),
    );
  const queueRow = (poolId: string, name: string) => gw.db.repos.workQueues.findInPool(poolId, name);

  async function addRun(workQueueId: string, stateType: string) {
    const flow =
      (await gw.db.repos.flows.findByName('queue-flow')) ?? (await gw.db.repos.flows.insert({ name: 'queue-flow' }));
    await gw.db.repos.flowRuns.insert({
      name: `run-${Math.random()}`,
      flow_id: flow.id,
      work_queue_id: workQueueId,
      state_type: stateType as 'RUNNING',
    });
  }

  describe('POST /work_pools/{work_pool_name}/queues', () => {
    it('creates a NOT_READY queue with the next priority and the pool name', async () => {
      const pool = await newPool();
      const queue = await createQueue(pool.name, { name: 'test-queue', description: 'test queue' });
      expect(queue).toMatchObject({
        name: 'test-queue',
        description: 'test queue',
        work_pool_id: pool.id,
        work_pool_name: pool.name,
        priority: 2,
        status: 'NOT_READY',
        is_paused: false,
        concurrency_limit: null,
        last_polled: null,
        filter: null,
        active_slots: null,
      });
      expect((await createQueue(pool.name, { name: 'wpq-2' })).priority).toBe(3);
    });

    it('a paused queue is still created NOT_READY; description defaults to ""; a limit reports 0 slots', async () => {
      const pool = await newPool();
      const queue = await createQueue(pool.name, { name: 'paused', is_paused: true, concurrency_limit: 5 });
      expect(queue).toMatchObject({
        is_paused: true,
        status: 'NOT_READY',
        description: '',
        active_slots: 0,
        concurrency_limit: 5,
      });
    });

    it('stores the deprecated filter with both keys', async () => {
      const pool = await newPool();
      expect((await createQueue(pool.name, { name: 'legacy', filter: { tags: ['a'] } })).filter).toEqual({
        tags: ['a'],
        deployment_ids: null,
      });
    });

    it('keeps a requested priority above the others and takes the first free rank next', async () => {
      const pool = await newPool();
      expect((await createQueue(pool.name, { name: 'wpq-1', priority: 99 })).priority).toBe(99);
      expect((await createQueue(pool.name, { name: 'wpq-2' })).priority).toBe(2);
      expect(await priorities(pool.name)).toEqual({ default: 1, 'wpq-2': 2, 'wpq-1': 99 });
    });

    it('a queue created at a taken priority takes it and shifts the rest down', async () => {
      const pool = await newPool();
      await createQueue(pool.name, { name: 'B' });
      await createQueue(pool.name, { name: 'C' });
      expect((await createQueue(pool.name, { name: 'A', priority: 1 })).priority).toBe(1);
      expect(await priorities(pool.name)).toEqual({ A: 1, default: 2, B: 3, C: 4 });
      await createQueue(pool.name, { name: 'X', priority: 3 });
      expect(await priorities(pool.name)).toEqual({ A: 1, default: 2, X: 3, B: 4, C: 5 });
    });

    it('409 with Prefect text for a duplicate name in the pool, but the name is free in another pool', async () => {
      const pool = await newPool();
      await createQueue(pool.name, { name: 'twice' });
      const duplicate = await gw.post(`/work_pools/${pool.name}/queues`, { name: 'twice', priority: 1 });
      expect(duplicate).toMatchObject({
        status: 409,
        body: { detail: 'A work queue with this name already exists in work pool {work_pool_name!r}.' },
      });
      expect(await priorities(pool.name)).toEqual({ default: 1, twice: 2 });
      await createQueue((await newPool()).name, { name: 'twice' });
    });

    it('404 with Prefect text for an unknown pool', async () => {
      expect(await gw.post('/work_pools/nope/queues', { name: 'q' })).toMatchObject({
        status: 404,
        body: { detail: 'Work pool "nope" not found.' },
      });
    });

    it.each([
      ['missing name', { description: 'x' }, 'missing'],
      ['banned character', { name: 'hi/there' }, 'string_pattern_mismatch'],
      ['empty name', { name: '' }, 'string_pattern_mismatch'],
      ['zero priority', { name: 'p0', priority: 0 }, 'greater_than'],
      ['negative concurrency', { name: 'c', concurrency_limit: -1 }, 'greater_than_equal'],
      ['unknown key', { name: 'k', color: 'red' }, 'extra_forbidden'],
      ['filter not an object', { name: 'f', filter: 'tags' }, 'model_type'],
      ['deployment id not a uuid', { name: 'd', filter: { deployment_ids: ['x'] } }, 'uuid_parsing'],
    ])('422 for %s, writing nothing', async (_case, body, type) => {
      const pool = await newPool();
      const response = await gw.post(`/work_pools/${pool.name}/queues`, body);
      expect(response.status).toBe(422);
      expect(response.body.exception_detail.map((d: { type: string }) => d.type)).toContain(type);
      expect(Object.keys(await priorities(pool.name))).toEqual(['default']);
    });
  });

  describe('GET /work_pools/{work_pool_name}/queues/{name}', () => {
    it('reads a queue', async () => {
      const pool = await newPool();
      const created = await createQueue(pool.name, { name: 'test-queue', description: 'test queue' });
      const response = await gw.get(`/work_pools/${pool.name}/queues/test-queue`);
      expectOperation(response, 'GET', '/work_pools/{work_pool_name}/queues/{name}', 200);
      expect(response.body).toEqual(created);
    });

    it('404 with Prefect text for an unknown queue or pool', async () => {
      const pool = await newPool();
      expect(await gw.get(`/work_pools/${pool.name}/queues/nope`)).toMatchObject({
        status: 404,
        body: { detail: `Work pool queue '${pool.name}/nope' not found.` },
      });
      expect(await gw.get('/work_pools/ghost/queues/default')).toMatchObject({
        status: 404,
        body: { detail: "Work pool queue 'ghost/default' not found." },
      });
    });

    it('counts PENDING and RUNNING runs as active slots when the queue has a limit', async () => {
      const pool = await newPool();
      const limited = await createQueue(pool.name, { name: 'limited', concurrency_limit: 10 });
      for (const state of ['RUNNING', 'PENDING', 'CANCELLING', 'COMPLETED']) await addRun(limited.id, state);
      await addRun(pool.default_queue_id, 'RUNNING');
      expect((await gw.get(`/work_pools/${pool.name}/queues/limited`)).body.active_slots).toBe(2);
      expect((await gw.get(`/work_pools/${pool.name}/queues/default`)).body.active_slots).toBeNull();
      const listed = (await gw.post(`/work_pools/${pool.name}/queues/filter`)).body as {
        name: string;
        active_slots: number | null;
      }[];
      expect(listed.map((q) => [q.name, q.active_slots])).toEqual([
        ['default', null],
        ['limited', 2],
      ]);
    });
  });

  describe('POST /work_pools/{work_pool_name}/queues/filter', () => {
    let pool: { name: string };
    beforeAll(async () => {
      pool = await newPool();
      for (const name of ['marvin', 'Marvin-robot', 'sad-marvin', 'zeta']) await createQueue(pool.name, { name });
    });
    const names = (response: { body: { name: string }[] }) => response.body.map((q) => q.name);

    it('lists the pool queues by priority, with offset and limit', async () => {
      const response = await gw.post(`/work_pools/${pool.name}/queues/filter`);
      expectOperation(response, 'POST', '/work_pools/{work_pool_name}/queues/filter', 200);
      expect(names(response)).toEqual(['default', 'marvin', 'Marvin-robot', 'sad-marvin', 'zeta']);
      expect(names(await gw.post(`/work_pools/${pool.name}/queues/filter`, { offset: 1, limit: 2 }))).toEqual([
        'marvin',
        'Marvin-robot',
      ]);
      // The stock client sends nulls for an unset offset and limit; FastAPI reads them as absent.
      const nulls = await gw.post(`/work_pools/${pool.name}/queues/filter`, {
        work_queues: null,
        offset: null,
        limit: null,
      });
      expect(names(nulls)).toEqual(names(response));
    });

    it('filters by name any_, case-insensitive startswith_, and id any_', async () => {
      const filter = (work_queues: unknown) => gw.post(`/work_pools/${pool.name}/queues/filter`, { work_queues });
      expect(names(await filter({ name: { any_: ['zeta', 'nope'] } }))).toEqual(['zeta']);
      expect(names(await filter({ name: { startswith_: ['marvin'] } }))).toEqual(['marvin', 'Marvin-robot']);
      const zeta = (await gw.get(`/work_pools/${pool.name}/queues/zeta`)).body;
      expect(names(await filter({ id: { any_: [zeta.id] } }))).toEqual(['zeta']);
      expect(names(await filter({ operator: 'or_', id: { any_: [zeta.id] }, name: { any_: ['default'] } }))).toEqual([
        'default',
        'zeta',
      ]);
    });

    it('404 for an unknown pool; 422 for a bad limit or filter', async () => {
      expect(await gw.post('/work_pools/ghost/queues/filter')).toMatchObject({
        status: 404,
        body: { detail: 'Work pool "ghost" not found.' },
      });
      expect(await gw.post(`/work_pools/${pool.name}/queues/filter`, { limit: 500 })).toMatchObject({
        status: 422,
        body: { detail: 'Invalid limit: must be less than or equal to 200.' },
      });
      const extra = await gw.post(`/work_pools/${pool.name}/queues/filter`, { work_queues: { name: { like_: 'm' } } });
      expect(extra.status).toBe(422);
      expect(extra.body.exception_detail[0]).toMatchObject({
        type: 'extra_forbidden',
        loc: ['body', 'work_queues', 'name', 'like_'],
      });
    });
  });

  describe('PATCH /work_pools/{work_pool_name}/queues/{name}', () => {
    const patch = (pool: string, name: string, body: unknown) => gw.patch(`/work_pools/${pool}/queues/${name}`, body);

    it('renames, describes and pauses a queue; pausing sets PAUSED', async () => {
      const pool = await newPool();
      await createQueue(pool.name, { name: 'test-queue', description: 'test queue' });
      const response = await patch(pool.name, 'test-queue', {
        name: 'updated-test-queue',
        description: 'updated test queue',
        is_paused: true,
      });
      expectOperation(response, 'PATCH', '/work_pools/{work_pool_name}/queues/{name}', 204);
      const read = await gw.get(`/work_pools/${pool.name}/queues/updated-test-queue`);
      expect(read.body).toMatchObject({
        name: 'updated-test-queue',
        description: 'updated test queue',
        is_paused: true,
        status: 'PAUSED',
      });
    });

    it('unpausing without a recent poll goes to NOT_READY, with one within 60 s to READY', async () => {
      const pool = await newPool();
      await createQueue(pool.name, { name: 'q' });
      await patch(pool.name, 'q', { is_paused: true });
      await patch(pool.name, 'q', { is_paused: false, concurrency_limit: 3 });
      expect((await gw.get(`/work_pools/${pool.name}/queues/q`)).body).toMatchObject({
        is_paused: false,
        status: 'NOT_READY',
        concurrency_limit: 3,
        last_polled: null,
      });

      await patch(pool.name, 'q', { is_paused: true, last_polled: new Date(Date.now() - 120_000).toISOString() });
      await patch(pool.name, 'q', { is_paused: false });
      expect((await gw.get(`/work_pools/${pool.name}/queues/q`)).body.status).toBe('NOT_READY');

      const polled = new Date();
      await patch(pool.name, 'q', {
        is_paused: true,
        last_polled: polled.toISOString().replace('T', ' ').replace('Z', '+00:00'),
      });
      const paused = (await gw.get(`/work_pools/${pool.name}/queues/q`)).body;
      expect(paused).toMatchObject({ status: 'PAUSED', last_polled: polled.toISOString() });
      await patch(pool.name, 'q', { is_paused: false });
      expect((await gw.get(`/work_pools/${pool.name}/queues/q`)).body.status).toBe('READY');
    });

    it('only real transitions touch the status', async () => {
      const pool = await newPool();
      await createQueue(pool.name, { name: 'q' });
      await patch(pool.name, 'q', { is_paused: false });
      expect((await queueRow(pool.id, 'q'))?.status).toBe('NOT_READY');
      await gw.db.repos.workQueues.updateFields((await queueRow(pool.id, 'q'))!.id, { status: 'READY' });
      await patch(pool.name, 'q', { is_paused: false, concurrency_limit: 3 });
      expect(await queueRow(pool.id, 'q')).toMatchObject({ status: 'READY', concurrency_limit: 3 });
    });

    it('moves a queue to a new priority, shifting the others as Prefect does', async () => {
      const pool = await newPool();
      for (const name of ['C', 'A', 'B']) await createQueue(pool.name, { name });
      await patch(pool.name, 'A', { priority: 100 });
      expect(await priorities(pool.name)).toEqual({ default: 1, C: 2, B: 4, A: 100 });
      await patch(pool.name, 'A', { priority: 2 });
      expect(await priorities(pool.name)).toEqual({ default: 1, A: 2, C: 3, B: 4 });
      // Moving down into a taken rank pushes the holder and those after it; nothing moves up into the gap.
      await patch(pool.name, 'default', { priority: 2 });
      expect(await priorities(pool.name)).toEqual({ default: 2, A: 3, C: 4, B: 5 });
    });

    it('the default queue can be renamed and stays the default', async () => {
      const pool = await newPool();
      expectOperation(
        await patch(pool.name, 'default', { name: 'main' }),
        'PATCH',
        '/work_pools/{work_pool_name}/queues/{name}',
        204,
      );
      expect((await gw.get(`/work_pools/${pool.name}/queues/main`)).body.id).toBe(pool.default_queue_id);
    });

    it('404 with Prefect text for an unknown pool, then for an unknown queue', async () => {
      const pool = await newPool();
      expect(await patch('ghost', 'default', { description: 'x' })).toMatchObject({
        status: 404,
        body: { detail: 'Work pool "ghost" not found.' },
      });
      expect(await patch(pool.name, 'nope', { description: 'x' })).toMatchObject({
        status: 404,
        body: { detail: `Work pool queue '${pool.name}/nope' not found.` },
      });
    });

    it.each([
      ['a taken name', { name: 'other' }, 409],
      ['a null name', { name: null }, 409],
      ['a null priority', { priority: null }, 409],
      ['a null is_paused', { is_paused: null }, 422],
      ['a zero priority', { priority: 0 }, 422],
      ['a bad last_polled', { last_polled: 'yesterday' }, 422],
      ['an unknown key', { color: 'red' }, 422],
    ])('refuses %s and changes nothing', async (_case, body, status) => {
      const pool = await newPool();
      await createQueue(pool.name, { name: 'q', description: 'kept' });
      await createQueue(pool.name, { name: 'other' });
      const before = await queueRow(pool.id, 'q');
      const response = await patch(pool.name, 'q', body);
      expect(response.status).toBe(status);
      if (status === 409) expect(response.body).toEqual({ detail: DATA_INTEGRITY });
      expect(await queueRow(pool.id, 'q')).toEqual(before);
      expect(await priorities(pool.name)).toEqual({ default: 1, q: 2, other: 3 });
    });
  });

  describe('DELETE /work_pools/{work_pool_name}/queues/{name}', () => {
    it('deletes a queue and keeps the gap in priorities', async () => {
      const pool = await newPool();
      for (const name of ['A', 'B', 'C']) await createQueue(pool.name, { name });
      const response = await gw.delete(`/work_pools/${pool.name}/queues/B`);
      expectOperation(response, 'DELETE', '/work_pools/{work_pool_name}/queues/{name}', 204);
      expect(await priorities(pool.name)).toEqual({ default: 1, A: 2, C: 4 });
      expect((await gw.delete(`/work_pools/${pool.name}/queues/B`)).status).toBe(404);
    });

    it("refuses to delete the pool's default queue, even renamed", async () => {
      const pool = await newPool();
      await gw.patch(`/work_pools/${pool.name}/queues/default`, { name: 'renamed' });
      expect(await gw.delete(`/work_pools/${pool.name}/queues/renamed`)).toMatchObject({
        status: 409,
        body: { detail: "Can't delete a pool's default queue." },
      });
      expect(await gw.db.repos.workQueues.findById(pool.default_queue_id)).not.toBeNull();
    });

    it('404 with Prefect text for an unknown pool or queue', async () => {
      const pool = await newPool();
      expect(await gw.delete('/work_pools/ghost/queues/default')).toMatchObject({
        status: 404,
        body: { detail: 'Work pool "ghost" not found.' },
      });
      expect(await gw.delete(`/work_pools/${pool.name}/queues/nope`)).toMatchObject({
        status: 404,
        body: { detail: `Work pool queue '${pool.name}/nope' not found.` },
      });
    });
  });
});

describe('queue-by-id routes (used by the prefect work-queue CLI)', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await TestGateway.start();
  });
  afterAll(() => gw.stop());

  it('reads, updates and reports the health of a queue by id', async () => {
    await gw.post('/work_pools/', { name: 'by-id', type: 'process' });
    const created = await gw.post('/work_pools/by-id/queues', { name: 'q', priority: 5 });
    const read = await gw.get(`/work_queues/${created.body.id}`);
    expectOperation(read, 'GET', '/work_queues/{id}', 200);
    expect(read.body).toMatchObject({ name: 'q', work_pool_name: 'by-id', priority: 5 });

    expect((await gw.patch(`/work_queues/${created.body.id}`, { concurrency_limit: 7 })).status).toBe(204);
    expect((await gw.get('/work_pools/by-id/queues/q')).body.concurrency_limit).toBe(7);

    const status = await gw.get(`/work_queues/${created.body.id}/status`);
    expectOperation(status, 'GET', '/work_queues/{id}/status', 200);
    expect(status.body).toEqual({
      healthy: false,
      late_runs_count: 0,
      last_polled: null,
      health_check_policy: { maximum_late_runs: 0, maximum_seconds_since_last_polled: 60 },
    });
  });

  it('404s an unknown id and a malformed one', async () => {
    expect(await gw.get('/work_queues/00000000-0000-0000-0000-000000000000')).toMatchObject({
      status: 404,
      body: { detail: 'Work queue not found' },
    });
    expect((await gw.patch('/work_queues/00000000-0000-0000-0000-000000000000', { concurrency_limit: 1 })).status).toBe(
      404,
    );
    expect((await gw.get('/work_queues/nope')).status).toBe(404);
  });
});
