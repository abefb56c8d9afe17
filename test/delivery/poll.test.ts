import { TestGateway } from '../support/gateway';
import { expectOperation } from '../support/openapi';
import { TestScheduler } from '../support/scheduler';

const POLL = '/work_pools/{name}/get_scheduled_flow_runs';
const inSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString();

describe('get_scheduled_flow_runs served from the bus', () => {
  let gw: TestGateway;
  let scheduler: TestScheduler;
  let flowId: string;

  beforeAll(async () => {
    gw = await TestGateway.start({ LOG_LEVEL: 'warn' });
    scheduler = await TestScheduler.start(gw.config);
    flowId = (await gw.post('/flows/', { name: 'delivery' })).body.id;
  });
  afterAll(async () => {
    await scheduler.stop();
    await gw.stop();
  });

  async function scheduledRun(pool: string, queue: string | null, startsIn = 0) {
    const response = await gw.post('/flow_runs/', {
      flow_id: flowId,
      work_pool_name: pool,
      ...(queue ? { work_queue_name: queue } : {}),
      state: { type: 'SCHEDULED', state_details: { scheduled_time: inSeconds(startsIn) } },
    });
    expect(response.status).toBe(201);
    return response.body;
  }

  async function pollUntil(pool: string, body: object, predicate: (runs: any[]) => boolean, timeoutMs = 3000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const response = await gw.post(`/work_pools/${pool}/get_scheduled_flow_runs`, body);
      if (predicate(response.body) || Date.now() > deadline) return response;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('hands a due run to one poller, withholds it from the next, and lets it be claimed', async () => {
    await gw.post('/work_pools/', { name: 'p1', type: 'process' });
    const run = await scheduledRun('p1', null);
    const first = await pollUntil('p1', { scheduled_before: inSeconds(10) }, (runs) => runs.length > 0);
    expectOperation(first, 'POST', POLL, 200);
    expect(first.body.map((r: any) => r.flow_run.id)).toEqual([run.id]);
    expect(first.body[0].flow_run.state).toEqual(run.state);
    expect(first.body[0].work_queue_id).toBe(run.work_queue_id);

    expect((await gw.post('/work_pools/p1/get_scheduled_flow_runs', { scheduled_before: inSeconds(10) })).body).toEqual(
      [],
    );

    const claim = await gw.post(`/flow_runs/${run.id}/set_state`, { state: { type: 'PENDING' } });
    expect(claim.body.status).toBe('ACCEPT');
    const row = await gw.db.repos.flowRuns.findById(run.id);
    expect(row?.leased_until).toBeNull();
  });

  it('accepts Python str() date-times and no body at all', async () => {
    await gw.post('/work_pools/', { name: 'p2', type: 'process' });
    const run = await scheduledRun('p2', null);
    const before = inSeconds(10).replace('T', ' ').replace('Z', '000+00:00');
    const response = await pollUntil(
      'p2',
      { work_queue_names: [], scheduled_before: before },
      (runs) => runs.length > 0,
    );
    expect(response.body.map((r: any) => r.flow_run.id)).toEqual([run.id]);
    const empty = await gw.request('POST', '/work_pools/p2/get_scheduled_flow_runs');
    expect(empty.status).toBe(200);
  });
});

describe('the run a poll hands out names its queue', () => {
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

  it('stores the resolved queue name when a run is put on a pool without naming the queue', async () => {
    const flow = await gw.post('/flows/', { name: 'queue-name' });
    await gw.post('/work_pools/', { name: 'qn', type: 'process' });
    const run = await gw.post('/flow_runs/', {
      flow_id: flow.body.id,
      work_pool_name: 'qn',
      state: { type: 'SCHEDULED' },
    });
    expect((await gw.db.repos.flowRuns.findById(run.body.id))?.work_queue_name).toBe('default');
    const deadline = Date.now() + 3000;
    let polled: any[] = [];
    while (polled.length === 0 && Date.now() < deadline) {
      polled = (await gw.post('/work_pools/qn/get_scheduled_flow_runs', {})).body;
    }
    expect(polled[0]?.flow_run.work_queue_name).toBe('default');
  });
});
