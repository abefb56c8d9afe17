import { PrefectEvent } from '@app/contracts';
import { connect, NatsConnection } from '@nats-io/transport-node';
import { randomUUID } from 'node:crypto';
import { TestGateway } from '../support/gateway';

const PREFECT_CLIENT = { 'user-agent': 'prefect/3.9.1 (API 0.8.4)' };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('flow-run state events (prefect.flow-run.<state name>)', () => {
  let gw: TestGateway;
  let nc: NatsConnection;
  const received: { subject: string; event: PrefectEvent }[] = [];
  let flow: { id: string; name: string };
  let deployment: { id: string; name: string; work_queue_id: string };
  let pool: { id: string; name: string };

  beforeAll(async () => {
    gw = await TestGateway.start();
    nc = await connect({ servers: gw.config.nats.url });
    nc.subscribe(`${gw.config.nats.namespace}.events.>`, {
      callback: (_error, message) => {
        received.push({ subject: message.subject, event: message.json<PrefectEvent>() });
      },
    });
    await nc.flush();
    flow = (await gw.post('/flows/', { name: 'observed', tags: ['team-a'] })).body;
    pool = (await gw.post('/work_pools/', { name: 'events-pool', type: 'process' })).body;
    deployment = (
      await gw.post('/deployments/', {
        name: 'observed-deployment',
        flow_id: flow.id,
        work_pool_name: 'events-pool',
        tags: ['prod'],
        concurrency_limit: 1,
      })
    ).body;
  });
  afterAll(async () => {
    await nc.close();
    await gw.stop();
  });

  const eventsOf = (runId: string) =>
    received.filter(({ event }) => event.resource['prefect.resource.id'] === `prefect.flow-run.${runId}`);
  async function waitForEvents(runId: string, count: number) {
    const deadline = Date.now() + 5000;
    while (eventsOf(runId).length < count && Date.now() < deadline) await sleep(20);
    return eventsOf(runId);
  }
  const propose = (id: string, type: string) =>
    gw.request(
      'POST',
      `/flow_runs/${id}/set_state`,
      { state: { type, state_details: { transition_id: randomUUID() } } },
      PREFECT_CLIENT,
    );

  it('publishes one event per committed state, in order, named after the state and identified by its id', async () => {
    const created = await gw.post(`/deployments/${deployment.id}/create_flow_run`, {
      state: { type: 'SCHEDULED' },
      tags: ['nightly'],
    });
    const runId = created.body.id as string;
    const states = [created.body.state];
    for (const type of ['PENDING', 'RUNNING']) states.push((await propose(runId, type)).body.state);
    // Nothing is committed, so nothing is published.
    expect((await propose(runId, 'PENDING')).body.status).toBe('ABORT');
    states.push((await propose(runId, 'COMPLETED')).body.state);

    const events = await waitForEvents(runId, 4);
    await sleep(200);
    expect(eventsOf(runId)).toHaveLength(4);
    expect(events.map(({ subject }) => subject)).toEqual(
      ['Scheduled', 'Pending', 'Running', 'Completed'].map(
        (name) => `${gw.config.nats.namespace}.events.prefect.flow-run.${name}`,
      ),
    );
    expect(events.map(({ event }) => event.id)).toEqual(states.map((state) => state.id));
    expect(events.map(({ event }) => event.follows ?? null)).toEqual([
      null,
      ...states.slice(0, 3).map((state) => state.id),
    ]);

    const running = events[2].event;
    expect(running).toMatchObject({
      event: 'prefect.flow-run.Running',
      occurred: states[2].timestamp,
      resource: {
        'prefect.resource.id': `prefect.flow-run.${runId}`,
        'prefect.resource.name': created.body.name,
        'prefect.run-count': '1',
        'prefect.state-message': '',
        'prefect.state-name': 'Running',
        'prefect.state-type': 'RUNNING',
      },
      payload: {
        intended: { from: 'PENDING', to: 'RUNNING' },
        initial_state: { type: 'PENDING', name: 'Pending' },
        validated_state: { type: 'RUNNING', name: 'Running' },
      },
    });
    expect(Date.parse(running.resource['prefect.state-timestamp'])).toBe(Date.parse(states[2].timestamp));
    expect(running.related).toEqual([
      {
        'prefect.resource.id': `prefect.flow.${flow.id}`,
        'prefect.resource.role': 'flow',
        'prefect.resource.name': 'observed',
      },
      {
        'prefect.resource.id': `prefect.deployment.${deployment.id}`,
        'prefect.resource.role': 'deployment',
        'prefect.resource.name': 'observed-deployment',
      },
      {
        'prefect.resource.id': `prefect.work-queue.${deployment.work_queue_id}`,
        'prefect.resource.role': 'work-queue',
        'prefect.resource.name': 'default',
      },
      {
        'prefect.resource.id': `prefect.work-pool.${pool.id}`,
        'prefect.resource.role': 'work-pool',
        'prefect.resource.name': 'events-pool',
        'prefect.work-pool.type': 'process',
      },
      { 'prefect.resource.id': 'prefect.tag.nightly', 'prefect.resource.role': 'tag' },
      { 'prefect.resource.id': 'prefect.tag.prod', 'prefect.resource.role': 'tag' },
      { 'prefect.resource.id': 'prefect.tag.team-a', 'prefect.resource.role': 'tag' },
    ]);
    expect(events[0].event.payload).toMatchObject({ intended: { from: null, to: 'SCHEDULED' }, initial_state: null });
  });

  it('names the event after the state a rejection put the run in', async () => {
    const holder = (await gw.post(`/deployments/${deployment.id}/create_flow_run`, { state: { type: 'SCHEDULED' } }))
      .body.id as string;
    const waiting = (await gw.post(`/deployments/${deployment.id}/create_flow_run`, { state: { type: 'SCHEDULED' } }))
      .body.id as string;
    expect((await propose(holder, 'PENDING')).body.status).toBe('ACCEPT');
    expect((await propose(waiting, 'PENDING')).body.status).toBe('REJECT');

    const [, rejected] = await waitForEvents(waiting, 2);
    expect(rejected.subject).toBe(`${gw.config.nats.namespace}.events.prefect.flow-run.AwaitingConcurrencySlot`);
    expect(rejected.event).toMatchObject({
      resource: { 'prefect.state-name': 'AwaitingConcurrencySlot', 'prefect.state-type': 'SCHEDULED' },
      payload: {
        intended: { from: 'SCHEDULED', to: 'SCHEDULED' },
        validated_state: { type: 'SCHEDULED', name: 'AwaitingConcurrencySlot' },
      },
    });
  });
});
