import { formatDateTime } from '@app/contracts';
import { TestGateway } from '../support/gateway';
import { eventually, EventLog, sql } from './helpers';

/** The status events the API's own transitions emit (work pools, heartbeats, queue pause/resume, polls). */
describe('status events from the API', () => {
  let gw: TestGateway;
  let log: EventLog;
  let flowId: string;

  beforeAll(async () => {
    gw = await TestGateway.start();
    log = await EventLog.subscribe(gw);
    flowId = (await gw.post('/flows/', { name: 'status-events' })).body.id;
  });
  afterAll(async () => {
    expect(log.misrouted).toEqual([]);
    await log.close();
    await gw.stop();
  });

  async function pool(name: string, body: Record<string, unknown> = {}): Promise<{ id: string; name: string }> {
    const created = await gw.post('/work_pools/', { name, type: 'process', ...body });
    expect(created.status).toBe(201);
    return created.body;
  }

  const stampOf = async (poolId: string) =>
    (
      await sql<{ status: string; last_status_event_id: string | null; last_transitioned_status_at: Date | null }>(
        gw,
        'SELECT status, last_status_event_id, last_transitioned_status_at FROM work_pool WHERE id = $1',
        [poolId],
      )
    )[0];

  /** Waits for the `n`-th event about `id` and returns all of them, after checking nothing more arrived. */
  async function eventsAbout(id: string, n: number) {
    await eventually(`${n} events about ${id}`, () => log.about(id).length >= n);
    await log.settle(gw.app);
    return log.about(id);
  }

  it('a new pool announces its status, unstamped and following nothing', async () => {
    const { id } = await pool('created');
    const paused = await pool('created-paused', { is_paused: true });
    const [event] = await eventsAbout(id, 1);
    expect(event).toMatchObject({
      event: 'prefect.work-pool.not-ready',
      resource: {
        'prefect.resource.id': `prefect.work-pool.${id}`,
        'prefect.resource.name': 'created',
        'prefect.work-pool.type': 'process',
      },
      related: [],
      payload: {},
      follows: null,
    });
    expect((await stampOf(id)).last_status_event_id).toBeNull();
    expect(log.namesAbout(paused.id)).toEqual(['prefect.work-pool.paused']);
  });

  it('the first heartbeat makes a NOT_READY pool READY with one stamped event; later heartbeats emit nothing', async () => {
    const { id } = await pool('heartbeats');
    await Promise.all(
      ['a', 'b', 'c', 'd', 'e'].map((name) => gw.post('/work_pools/heartbeats/workers/heartbeat', { name })),
    );
    await gw.post('/work_pools/heartbeats/workers/heartbeat', { name: 'a' });
    const events = await eventsAbout(id, 2);
    expect(events.map((event) => event.event)).toEqual(['prefect.work-pool.not-ready', 'prefect.work-pool.ready']);
    const stamp = await stampOf(id);
    expect(stamp.status).toBe('READY');
    expect(events[1]).toMatchObject({
      id: stamp.last_status_event_id,
      occurred: formatDateTime(stamp.last_transitioned_status_at),
      follows: null,
    });
  });

  it('pausing and resuming a pool emit a chain of events, each following the one before', async () => {
    const { id } = await pool('chain');
    await gw.post('/work_pools/chain/workers/heartbeat', { name: 'w' });
    for (const is_paused of [true, true, false]) {
      expect((await gw.patch('/work_pools/chain', { is_paused })).status).toBe(204);
    }
    expect((await gw.patch('/work_pools/chain', { description: 'no status change' })).status).toBe(204);
    const events = await eventsAbout(id, 5);
    // Prefect writes PAUSED on every pause, so pausing twice is two transitions.
    expect(events.map((event) => event.event)).toEqual([
      'prefect.work-pool.not-ready',
      'prefect.work-pool.ready',
      'prefect.work-pool.paused',
      'prefect.work-pool.paused',
      'prefect.work-pool.ready',
    ]);
    for (let i = 2; i < events.length; i++) expect(events[i].follows).toBe(events[i - 1].id);
    expect(events[4].id).toBe((await stampOf(id)).last_status_event_id);
  });

  it('a stale previous transition is not followed', async () => {
    const { id } = await pool('stale-stamp');
    await gw.post('/work_pools/stale-stamp/workers/heartbeat', { name: 'w' });
    await sql(gw, `UPDATE work_pool SET last_transitioned_status_at = now() - interval '11 minutes' WHERE id = $1`, [
      id,
    ]);
    await gw.patch('/work_pools/stale-stamp', { is_paused: true });
    const events = await eventsAbout(id, 3);
    expect(events[2]).toMatchObject({ event: 'prefect.work-pool.paused', follows: null });
  });

  it('pausing and resuming a queue emit its status events, by either path, and only for real changes', async () => {
    const owner = await pool('queues');
    const queue = (await gw.post('/work_pools/queues/queues', { name: 'q' })).body;
    await gw.patch('/work_pools/queues/queues/q', { is_paused: true });
    await gw.patch('/work_pools/queues/queues/q', { is_paused: true });
    await gw.patch(`/work_queues/${queue.id}`, { is_paused: false });
    await gw.patch('/work_pools/queues/queues/q', { is_paused: true });
    await gw.patch('/work_pools/queues/queues/q', { is_paused: false, last_polled: new Date().toISOString() });
    const events = await eventsAbout(queue.id, 4);
    expect(events.map((event) => event.event)).toEqual([
      'prefect.work-queue.paused',
      'prefect.work-queue.not-ready',
      'prefect.work-queue.paused',
      'prefect.work-queue.ready',
    ]);
    expect(events[0]).toMatchObject({
      resource: {
        'prefect.resource.id': `prefect.work-queue.${queue.id}`,
        'prefect.resource.name': 'q',
        'prefect.resource.role': 'work-queue',
      },
      related: [
        {
          'prefect.resource.id': `prefect.work-pool.${owner.id}`,
          'prefect.resource.name': 'queues',
          'prefect.work-pool.type': 'process',
          'prefect.resource.role': 'work-pool',
        },
      ],
    });
  });

  it('a poll that readies a queue and its deployment announces both', async () => {
    const owner = await pool('polled');
    const deployment = (
      await gw.post('/deployments/', {
        name: 'polled',
        flow_id: flowId,
        work_pool_name: 'polled',
        work_queue_name: 'default',
      })
    ).body;
    expect((await gw.post('/work_pools/polled/get_scheduled_flow_runs', {})).status).toBe(200);
    await eventually('the deployment event', () => log.about(deployment.id).length === 1);
    const [event] = await eventsAbout(deployment.id, 1);
    expect(event).toMatchObject({
      event: 'prefect.deployment.ready',
      resource: { 'prefect.resource.id': `prefect.deployment.${deployment.id}`, 'prefect.resource.name': 'polled' },
      related: [
        {
          'prefect.resource.id': `prefect.flow.${flowId}`,
          'prefect.resource.name': 'status-events',
          'prefect.resource.role': 'flow',
        },
        {
          'prefect.resource.id': `prefect.work-queue.${deployment.work_queue_id}`,
          'prefect.resource.name': 'default',
          'prefect.resource.role': 'work-queue',
        },
        {
          'prefect.resource.id': `prefect.work-pool.${owner.id}`,
          'prefect.resource.name': 'polled',
          'prefect.work-pool.type': 'process',
          'prefect.resource.role': 'work-pool',
        },
      ],
    });
    expect(log.namesAbout(deployment.work_queue_id)).toEqual(['prefect.work-queue.ready']);
  });
});
