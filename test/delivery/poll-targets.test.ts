// Polls read pools and queues from a per-gateway cache (apps/gateway/src/scheduled-runs/poll-targets.service.ts):
// an idle pool's polls cost no Postgres read, and what another gateway changes is seen at once. A poll that pulls
// only runs due after its window costs none either.
import { DeliveryRepository } from '@app/persistence';
import { GatewayProcess, inSeconds, runIds, Sql, waitFor } from '../support/delivery';
import { TestGateway } from '../support/gateway';
import { TestScheduler } from '../support/scheduler';

const POLL = (pool: string) => `/work_pools/${pool}/get_scheduled_flow_runs`;
/** The stock worker's window: within the dispatch horizon, so the bus holds all a poll can get (no Postgres scan). */
const stock = (extra: object = {}) => ({ scheduled_before: new Date(Date.now() + 10_000).toISOString(), ...extra });

describe('the pools polls read from a cache', () => {
  let gw: TestGateway;
  let scheduler: TestScheduler;
  let replica: GatewayProcess;
  let sql: Sql;
  let flowId: string;
  let pools = 0;

  beforeAll(async () => {
    gw = await TestGateway.start({ LOG_LEVEL: 'warn' });
    scheduler = await TestScheduler.start(gw.config);
    replica = await GatewayProcess.start(gw.config);
    sql = await Sql.connect(gw.config.db.url);
    flowId = (await gw.post('/flows/', { name: 'cached' })).body.id;
  });
  afterAll(async () => {
    await sql?.end();
    await replica?.process.stop();
    await scheduler?.stop();
    await gw?.stop();
  });

  async function newPool(): Promise<string> {
    const name = `cached-${++pools}`;
    expect((await gw.post('/work_pools/', { name, type: 'process' })).status).toBe(201);
    return name;
  }

  async function dueRun(pool: string): Promise<string> {
    const response = await gw.post('/flow_runs/', {
      flow_id: flowId,
      work_pool_name: pool,
      state: { type: 'SCHEDULED' },
    });
    expect(response.status).toBe(201);
    return response.body.id as string;
  }

  it('an idle pool polled by stock workers is read from Postgres once, then from the cache alone', async () => {
    const pool = await newPool();
    const reads = jest.spyOn(DeliveryRepository.prototype, 'pollTarget');
    try {
      for (let i = 0; i < 5; i++) expect((await gw.post(POLL(pool), stock())).body).toEqual([]);
      expect(reads).toHaveBeenCalledTimes(1);
    } finally {
      reads.mockRestore();
    }
  });

  it('a run on the bus due after the poll window goes back to it without a Postgres read', async () => {
    const pool = await newPool();
    const scheduled = { type: 'SCHEDULED', state_details: { scheduled_time: inSeconds(11) } };
    const id = (await gw.post('/flow_runs/', { flow_id: flowId, work_pool_name: pool, state: scheduled })).body
      .id as string;
    await waitFor('the run published (within the 12 s dispatch horizon)', () => sql.isDispatched(id));
    const locks = jest.spyOn(DeliveryRepository.prototype, 'lockOfferedRuns');
    try {
      expect((await gw.post(POLL(pool), { scheduled_before: inSeconds(5) })).body).toEqual([]);
      expect(locks).not.toHaveBeenCalled();
    } finally {
      locks.mockRestore();
    }
    expect(runIds(await gw.post(POLL(pool), { scheduled_before: inSeconds(11.5) }))).toEqual([id]);
  });

  it('a run arriving on a cached pool is handed out from a fresh read', async () => {
    const pool = await newPool();
    expect((await gw.post(POLL(pool), stock())).body).toEqual([]);
    const id = await dueRun(pool);
    const seen = await waitFor(
      'the run handed out',
      async () => runIds(await gw.post(POLL(pool), stock())).includes(id),
      5000,
    );
    expect(seen).toBe(true);
  });

  it('a pool deleted through another gateway answers 404 here at once', async () => {
    const pool = await newPool();
    expect((await gw.post(POLL(pool), stock())).status).toBe(200);
    expect((await replica.request('DELETE', `/work_pools/${pool}`)).status).toBe(204);
    const gone = await waitFor('the 404', async () => (await gw.post(POLL(pool), stock())).status === 404, 1000);
    expect(gone).toBe(true);
  });

  it('a queue created through another gateway can be named here at once', async () => {
    const pool = await newPool();
    expect((await gw.post(POLL(pool), stock())).status).toBe(200);
    expect((await replica.request('POST', `/work_pools/${pool}/queues/`, { name: 'late-comer' })).status).toBe(201);
    expect((await gw.post(POLL(pool), stock({ work_queue_names: ['late-comer'] }))).status).toBe(200);
  });

  it('pausing and resuming through another gateway: nothing handed out while paused, the run right after', async () => {
    const pool = await newPool();
    expect((await gw.post(POLL(pool), stock())).body).toEqual([]);
    expect((await replica.request('PATCH', `/work_pools/${pool}`, { is_paused: true })).status).toBe(204);
    const id = await dueRun(pool);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await gw.post(POLL(pool), stock())).body).toEqual([]);
    expect((await replica.request('PATCH', `/work_pools/${pool}`, { is_paused: false })).status).toBe(204);
    const seen = await waitFor(
      'the run handed out after the resume',
      async () => runIds(await gw.post(POLL(pool), stock())).includes(id),
      5000,
    );
    expect(seen).toBe(true);
  });
});
