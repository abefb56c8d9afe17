import { natsNames } from '@app/contracts';
import { STATUS_HEADER } from '@app/messaging';
import { jetstream, JsMsg } from '@nats-io/jetstream';
import { connect, NatsConnection } from '@nats-io/transport-node';
import { TestGateway } from '../support/gateway';
import { TestScheduler } from '../support/scheduler';

/** A worker that takes runs straight from NATS and claims them over NATS (I9), against the real apps. */
describe('NATS-native workers', () => {
  let gw: TestGateway;
  let scheduler: TestScheduler;
  let nc: NatsConnection;
  let flowId: string;
  const names = () => natsNames(gw.config.NATS_NAMESPACE);

  beforeAll(async () => {
    gw = await TestGateway.start();
    scheduler = await TestScheduler.start(gw.config);
    nc = await connect({ servers: gw.config.NATS_URL });
    flowId = (await gw.post('/flows/', { name: 'nats' })).body.id;
  });
  afterAll(async () => {
    await nc.close();
    await scheduler.stop();
    await gw.stop();
  });

  async function poolWithRun(pool: string, queueLimit: number | null = null) {
    const created = await gw.post('/work_pools/', { name: pool, type: 'process' });
    if (queueLimit !== null) await gw.patch(`/work_pools/${pool}/queues/default`, { concurrency_limit: queueLimit });
    const run = await gw.post('/flow_runs/', { flow_id: flowId, work_pool_name: pool, state: { type: 'SCHEDULED' } });
    return { poolId: created.body.id as string, queueId: run.body.work_queue_id as string, runId: run.body.id as string };
  }

  async function nextMessage(poolId: string, queueId: string): Promise<JsMsg> {
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      const consumer = await jetstream(nc).consumers.get(names().poolStream(poolId), names().queueConsumer(queueId)).catch(() => null);
      const message = consumer && (await consumer.next({ expires: 1000 }));
      if (message) return message;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('no message on the bus');
  }

  async function claim(poolId: string, body: object) {
    const reply = await nc.request(names().claim(poolId), JSON.stringify(body), { timeout: 5000 });
    return { status: Number(reply.headers?.get(STATUS_HEADER)), body: reply.json<any>() };
  }

  it('receives exactly one WorkerFlowRunResponse per run and claims it over NATS', async () => {
    const { poolId, queueId, runId } = await poolWithRun('n1');
    const message = await nextMessage(poolId, queueId);
    const offer = message.json<any>();
    expect(Object.keys(offer).sort()).toEqual(['flow_run', 'work_pool_id', 'work_queue_id']);
    expect(offer).toMatchObject({ work_pool_id: poolId, work_queue_id: queueId, flow_run: { id: runId, state: null } });

    // While this worker holds the message, an HTTP poll does not get the run (I9).
    expect((await gw.post('/work_pools/n1/get_scheduled_flow_runs', {})).body).toEqual([]);

    const first = await claim(poolId, { flow_run_id: runId });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ status: 'ACCEPT', state: { type: 'PENDING' } });
    message.ack();
    const second = await claim(poolId, { flow_run_id: runId });
    expect(second).toMatchObject({ status: 200, body: { status: 'ABORT' } });
  });

  it('answers claims with Prefect error shapes', async () => {
    const { poolId } = await poolWithRun('n0');
    expect(await claim(poolId, { flow_run_id: '00000000-0000-0000-0000-000000000000' })).toEqual({
      status: 404,
      body: { exception_message: 'Flow run with id 00000000-0000-0000-0000-000000000000 not found' },
    });
    const invalid = await claim(poolId, { flow_run_id: 'nope' });
    expect(invalid.status).toBe(422);
    expect(invalid.body.exception_message).toBe('Invalid request received.');
  });

  it("refuses, as if it did not exist, a run of another pool or of none (I10)", async () => {
    const mine = await poolWithRun('n3');
    const theirs = await poolWithRun('n4');
    const poolless = (await gw.post('/flow_runs/', { flow_id: flowId, state: { type: 'SCHEDULED' } })).body.id as string;
    for (const runId of [theirs.runId, poolless]) {
      expect(await claim(mine.poolId, { flow_run_id: runId })).toEqual({ status: 404, body: { exception_message: `Flow run with id ${runId} not found` } });
    }
    expect((await gw.get(`/flow_runs/${theirs.runId}`)).body.state_type).toBe('SCHEDULED');
    expect(await claim(theirs.poolId, { flow_run_id: theirs.runId })).toMatchObject({ status: 201, body: { status: 'ACCEPT' } });
  });

  it('makes a NATS claim WAIT when the queue has no free slot (I5 without a lease)', async () => {
    const { poolId, queueId, runId } = await poolWithRun('n2', 1);
    const busy = await gw.post('/flow_runs/', { flow_id: flowId, work_pool_name: 'n2', state: { type: 'RUNNING' } });
    expect(busy.body.state_type).toBe('RUNNING');
    const message = await nextMessage(poolId, queueId);
    const waited = await claim(poolId, { flow_run_id: runId });
    expect(waited).toMatchObject({ status: 200, body: { status: 'WAIT', details: { type: 'wait_details', delay_seconds: 1 } } });
    expect((await gw.get(`/flow_runs/${runId}`)).body.state_type).toBe('SCHEDULED');
    message.nak();

    await gw.post(`/flow_runs/${busy.body.id}/set_state`, { state: { type: 'COMPLETED' } });
    expect(await claim(poolId, { flow_run_id: runId })).toMatchObject({ status: 201, body: { status: 'ACCEPT' } });
  });
});
