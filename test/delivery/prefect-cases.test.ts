import { DataSource } from 'typeorm';
import { TestGateway } from '../support/gateway';
import { TestScheduler } from '../support/scheduler';

jest.setTimeout(120_000);
const HOUR = 3600_000;

describe('timing', () => {
  let gw: TestGateway;
  let scheduler: TestScheduler;
  beforeAll(async () => {
    gw = await TestGateway.start();
    scheduler = await TestScheduler.start(gw.config);
  });
  afterAll(async () => {
    await scheduler.stop();
    await gw.stop();
  });
  it('builds', async () => {
    const t0 = Date.now();
    const flowId = (await gw.post('/flows/', { name: 'f' })).body.id;
    for (const p of ['A', 'B', 'C']) {
      const pool = await gw.post('/work_pools/', { name: p });
      expect(pool.status).toBe(201);
      for (const q of ['A', 'B', 'C']) {
        const queue = await gw.post(`/work_pools/${p}/queues`, { name: p + q });
        expect(queue.status).toBe(201);
        for (const type of ['RUNNING', 'PENDING']) {
          const r = await gw.post('/flow_runs/', { flow_id: flowId, work_pool_name: p, work_queue_name: p + q, state: { type } });
          expect(r.status).toBe(201);
        }
        for (const i of [3, 2, 1, 0, -1]) {
          const r = await gw.post('/flow_runs/', {
            flow_id: flowId, work_pool_name: p, work_queue_name: p + q,
            state: { type: 'SCHEDULED', state_details: { scheduled_time: new Date(Date.now() + i * HOUR).toISOString() } },
          });
          expect(r.status).toBe(201);
        }
      }
    }
    console.log('built in', Date.now() - t0, gw.app.get(DataSource).options.type);
    const poll = await gw.post('/work_pools/A/get_scheduled_flow_runs');
    console.log(poll.status, poll.body.length, poll.body[0]);
  });
});
