import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expectOperation } from '../support/openapi';
import { TestGateway } from '../support/gateway';

describe('workers API', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await TestGateway.start();
  });
  afterAll(() => gw.stop());

  let poolCounter = 0;
  async function newPool(body: Record<string, unknown> = {}): Promise<{ id: string; name: string }> {
    return (await gw.post('/work_pools/', { name: `pool-${++poolCounter}`, type: 'process', ...body })).body;
  }

  async function heartbeat(pool: string, body: unknown) {
    const response = await gw.post(`/work_pools/${pool}/workers/heartbeat`, body);
    expectOperation(response, 'POST', '/work_pools/{work_pool_name}/workers/heartbeat', 204);
    expect(response.text).toBe('');
  }

  async function workers(pool: string, body?: unknown): Promise<Record<string, any>[]> {
    const response = await gw.post(`/work_pools/${pool}/workers/filter`, body);
    expectOperation(response, 'POST', '/work_pools/{work_pool_name}/workers/filter', 200);
    return response.body;
  }

  const poolRow = (name: string) => gw.db.repos.workPools.findByName(name);

  describe('POST /work_pools/{work_pool_name}/workers/heartbeat', () => {
    it('records the worker ONLINE and makes a NOT_READY pool READY, stamping the transition', async () => {
      const pool = await newPool();
      expect(await workers(pool.name)).toEqual([]);
      const before = new Date();
      await heartbeat(pool.name, { name: 'test-worker' });

      const [worker] = await workers(pool.name);
      expect(worker).toMatchObject({
        name: 'test-worker',
        status: 'ONLINE',
        work_pool_id: pool.id,
        heartbeat_interval_seconds: null,
      });
      expect(new Date(worker.last_heartbeat_time).getTime()).toBeGreaterThanOrEqual(before.getTime());
      const ready = await poolRow(pool.name);
      expect(ready).toMatchObject({ status: 'READY' });
      expect(ready?.last_status_event_id).toMatch(/^[0-9a-f-]{36}$/);
      expect(ready?.last_transitioned_status_at?.getTime()).toBeGreaterThanOrEqual(before.getTime());
      expect((await gw.get(`/work_pools/${pool.name}`)).body.status).toBe('READY');

      // A READY pool is left alone: no second transition.
      await heartbeat(pool.name, { name: 'test-worker' });
      expect((await poolRow(pool.name))?.last_status_event_id).toBe(ready?.last_status_event_id);
    });

    it('a paused pool stays PAUSED', async () => {
      const pool = await newPool();
      await gw.patch(`/work_pools/${pool.name}`, { is_paused: true });
      const paused = await poolRow(pool.name);
      await heartbeat(pool.name, { name: 'test-worker' });
      expect((await gw.get(`/work_pools/${pool.name}`)).body).toMatchObject({ is_paused: true, status: 'PAUSED' });
      expect((await poolRow(pool.name))?.last_status_event_id).toBe(paused?.last_status_event_id);
    });

    it('upserts on the worker name: t, t, t, a make two workers, the latest first', async () => {
      const pool = await newPool();
      for (const name of ['test-worker', 'test-worker', 'test-worker', 'another-worker']) {
        await heartbeat(pool.name, { name });
      }
      expect((await workers(pool.name)).map((w) => w.name)).toEqual(['another-worker', 'test-worker']);
      const limited = await workers(pool.name, { limit: 1 });
      expect(limited.map((w) => w.name)).toEqual(['another-worker']);
    });

    it('stores the interval (30.0 as 30) and keeps it when a later heartbeat omits it', async () => {
      const pool = await newPool();
      await heartbeat(pool.name, { name: 'test-worker', heartbeat_interval_seconds: 60 });
      expect((await workers(pool.name))[0].heartbeat_interval_seconds).toBe(60);
      await heartbeat(pool.name, { name: 'test-worker' });
      await heartbeat(pool.name, { name: 'test-worker', heartbeat_interval_seconds: null });
      expect((await workers(pool.name))[0].heartbeat_interval_seconds).toBe(60);
      await gw.request(
        'POST',
        `/work_pools/${pool.name}/workers/heartbeat`,
        '{"name": "test-worker", "heartbeat_interval_seconds": 30.0}',
      );
      expect((await workers(pool.name))[0].heartbeat_interval_seconds).toBe(30);
    });

    it("ignores keys only Prefect Cloud reads (the client's metadata, return_id)", async () => {
      const pool = await newPool();
      await heartbeat(pool.name, { name: 'cloudy', metadata: { integrations: [] }, return_id: true });
      expect((await workers(pool.name)).map((w) => w.name)).toEqual(['cloudy']);
    });

    it('turns an OFFLINE worker ONLINE again', async () => {
      const pool = await newPool();
      await gw.db.repos.workers.insert({
        work_pool_id: pool.id,
        name: 'sleepy',
        status: 'OFFLINE',
        last_heartbeat_time: new Date(Date.now() - 300_000),
      });
      expect((await workers(pool.name))[0]).toMatchObject({ name: 'sleepy', status: 'OFFLINE' });
      await heartbeat(pool.name, { name: 'sleepy' });
      expect((await workers(pool.name))[0]).toMatchObject({ name: 'sleepy', status: 'ONLINE' });
    });
  });

  describe('heartbeat bad input', () => {
    it('422 naming the missing name, with or without a body', async () => {
      const pool = await newPool();
      for (const body of [undefined, {}, { heartbeat_interval_seconds: 30 }]) {
        const response = await gw.post(`/work_pools/${pool.name}/workers/heartbeat`, body);
        expect(response.status).toBe(422);
        expect(response.text).toContain('"type":"missing","loc":["body","name"]');
      }
    });

    it.each([
      ['name not a string', { name: 5 }, 'string_type'],
      ['fractional interval', { name: 'w', heartbeat_interval_seconds: 1.5 }, 'int_from_float'],
      ['interval as text', { name: 'w', heartbeat_interval_seconds: 'often' }, 'int_parsing'],
      ['body a list', [{ name: 'w' }], 'model_attributes_type'],
    ])('422 for %s', async (_case, body, type) => {
      const pool = await newPool();
      const response = await gw.post(`/work_pools/${pool.name}/workers/heartbeat`, body);
      expect(response.status).toBe(422);
      expect(response.body.exception_detail.map((d: { type: string }) => d.type)).toContain(type);
    });

    it('404 for an unknown pool', async () => {
      expect(await gw.post('/work_pools/ghost/workers/heartbeat', { name: 'w' })).toMatchObject({
        status: 404,
        body: { detail: 'Work pool "ghost" not found.' },
      });
    });

    it('rejected heartbeats wrote nothing', async () => {
      const pool = await newPool();
      await gw.post(`/work_pools/${pool.name}/workers/heartbeat`, { name: 'w', heartbeat_interval_seconds: 1.5 });
      expect(await workers(pool.name)).toEqual([]);
      expect((await poolRow(pool.name))?.status).toBe('NOT_READY');
    });
  });

  describe('POST /work_pools/{work_pool_name}/workers/filter', () => {
    let pool: { id: string; name: string };
    const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000);
    beforeAll(async () => {
      pool = await newPool();
      await gw.db.repos.workers.insert({
        work_pool_id: pool.id,
        name: 'old',
        status: 'OFFLINE',
        last_heartbeat_time: minutesAgo(60),
      });
      await gw.db.repos.workers.insert({
        work_pool_id: pool.id,
        name: 'older',
        status: 'OFFLINE',
        last_heartbeat_time: minutesAgo(120),
      });
      await heartbeat(pool.name, { name: 'online-worker' });
    });
    const names = (list: Record<string, any>[]) => list.map((w) => w.name);

    it('lists the pool workers, latest heartbeat first, with offset and limit', async () => {
      expect(names(await workers(pool.name))).toEqual(['online-worker', 'old', 'older']);
      expect(names(await workers(pool.name, { offset: 1, limit: 1 }))).toEqual(['old']);
      expect(names(await workers(pool.name, { workers: null, offset: null, limit: null }))).toEqual([
        'online-worker',
        'old',
        'older',
      ]);
      expect(await workers((await newPool()).name)).toEqual([]);
    });

    it.each([
      [{ status: { any_: ['ONLINE'] } }, ['online-worker']],
      [{ status: { any_: ['OFFLINE'] } }, ['old', 'older']],
      [{ status: { not_any_: ['OFFLINE'] } }, ['online-worker']],
      [{ status: { any_: [] } }, []],
    ])('filters on status %j', async (filter, expected) => {
      expect(names(await workers(pool.name, { workers: filter }))).toEqual(expected);
    });

    it('filters on heartbeat time, bounds included, with and_ or or_', async () => {
      const old = (await workers(pool.name)).find((w) => w.name === 'old')!;
      expect(
        names(await workers(pool.name, { workers: { last_heartbeat_time: { before_: old.last_heartbeat_time } } })),
      ).toEqual(['old', 'older']);
      expect(
        names(await workers(pool.name, { workers: { last_heartbeat_time: { after_: old.last_heartbeat_time } } })),
      ).toEqual(['online-worker', 'old']);
      const between = {
        last_heartbeat_time: {
          after_: minutesAgo(90).toISOString(),
          before_: minutesAgo(30).toISOString().replace('T', ' '),
        },
      };
      expect(names(await workers(pool.name, { workers: between }))).toEqual(['old']);
      const either = {
        operator: 'or_',
        status: { any_: ['ONLINE'] },
        last_heartbeat_time: { before_: minutesAgo(90).toISOString() },
      };
      expect(names(await workers(pool.name, { workers: either }))).toEqual(['online-worker', 'older']);
    });

    it('404 for an unknown pool; 422 for a bad limit, status or date', async () => {
      expect(await gw.post('/work_pools/ghost/workers/filter')).toMatchObject({
        status: 404,
        body: { detail: 'Work pool "ghost" not found.' },
      });
      expect(await gw.post(`/work_pools/${pool.name}/workers/filter`, { limit: 201 })).toMatchObject({
        status: 422,
        body: { detail: 'Invalid limit: must be less than or equal to 200.' },
      });
      for (const [workersFilter, type] of [
        [{ status: { any_: ['BUSY'] } }, 'enum'],
        [{ last_heartbeat_time: { before_: 'soon' } }, 'value_error'],
        [{ name: { any_: ['x'] } }, 'extra_forbidden'],
      ] as const) {
        const response = await gw.post(`/work_pools/${pool.name}/workers/filter`, { workers: workersFilter });
        expect(response.status).toBe(422);
        expect(response.body.exception_detail[0].type).toBe(type);
      }
    });
  });

  describe('DELETE /work_pools/{work_pool_name}/workers/{name}', () => {
    it('deletes one worker of the pool', async () => {
      const pool = await newPool();
      for (const name of ['worker.0', 'worker.1', 'worker.2']) await heartbeat(pool.name, { name });
      const response = await gw.delete(`/work_pools/${pool.name}/workers/worker.1`);
      expectOperation(response, 'DELETE', '/work_pools/{work_pool_name}/workers/{name}', 204);
      expect((await workers(pool.name)).map((w) => w.name).sort()).toEqual(['worker.0', 'worker.2']);
    });

    it('404 with Prefect text for an unknown worker or pool', async () => {
      const pool = await newPool();
      await heartbeat(pool.name, { name: 'worker1' });
      expect(await gw.delete(`/work_pools/${pool.name}/workers/does-not-exist`)).toMatchObject({
        status: 404,
        body: { detail: 'Worker not found.' },
      });
      expect(await gw.delete('/work_pools/ghost/workers/worker1')).toMatchObject({
        status: 404,
        body: { detail: 'Work pool "ghost" not found.' },
      });
      expect((await workers(pool.name)).map((w) => w.name)).toEqual(['worker1']);
    });
  });

  describe('GET /work_pools/{work_pool_name}/workers/connect (websocket channel)', () => {
    it('answers 404, so new workers fall back to REST', async () => {
      const pool = await newPool();
      expect((await gw.get(`/work_pools/${pool.name}/workers/connect`)).status).toBe(404);
    });

    it('answers a real websocket upgrade with a plain 404', async () => {
      const pool = await newPool();
      await gw.app.listen(0, '127.0.0.1');
      const { port } = gw.app.getHttpServer().address() as AddressInfo;
      const status = await new Promise<number | undefined>((resolve, reject) => {
        const req = httpRequest({
          host: '127.0.0.1',
          port,
          path: `/api/work_pools/${pool.name}/workers/connect`,
          headers: {
            Connection: 'Upgrade',
            Upgrade: 'websocket',
            'Sec-WebSocket-Version': '13',
            'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
            'Sec-WebSocket-Protocol': 'prefect',
          },
        });
        req.on('response', (response) => {
          response.resume();
          resolve(response.statusCode);
        });
        req.on('upgrade', () => reject(new Error('the server accepted the websocket upgrade')));
        req.on('error', reject);
        req.end();
      });
      expect(status).toBe(404);
    });
  });
});
