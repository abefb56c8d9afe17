import { jetstreamManager, JetStreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { connect, NatsConnection } from '@nats-io/transport-node';
import { TestGateway } from '../support/gateway';
import { PrivateNatsServer } from '../../bench/nats-servers';

/**
 * Issue 10: events published after a commit while NATS is down are kept and published once it is back, none
 * dropped. A JetStream stream on the events' subjects records what reached the server, whichever client is
 * connected when.
 */
describe('events during a NATS outage', () => {
  let nats: PrivateNatsServer;
  let gw: TestGateway;
  let observer: NatsConnection;
  let jsm: JetStreamManager;
  const RUNS = 20;

  beforeAll(async () => {
    nats = await PrivateNatsServer.start();
    gw = await TestGateway.start({ NATS_URL: nats.url });
    observer = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    jsm = await jetstreamManager(observer, { timeout: 500 });
    await jsm.streams.add({
      name: 'observed-events',
      subjects: [`${gw.config.nats.namespace}.events.>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
    });
  });
  afterAll(async () => {
    await observer.close();
    await gw.stop();
    await nats.dispose();
  });

  /** Every `prefect.flow-run.*` event the stream holds, as `<run id> <event name>`. */
  async function recorded(): Promise<string[]> {
    const stream = await jsm.streams.get('observed-events');
    const { state } = await stream.info();
    const events: string[] = [];
    for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
      const message = await stream.getMessage({ seq });
      const event = message?.json<{ event: string; resource: Record<string, string> }>();
      if (event?.event.startsWith('prefect.flow-run.')) {
        events.push(`${event.resource['prefect.resource.id']} ${event.event}`);
      }
    }
    return events;
  }

  it('every state change made while NATS was stopped is published after it restarts, in order, none lost', async () => {
    const flowId = (await gw.post('/flows/', { name: 'flow' })).body.id;
    const runIds: string[] = [];
    for (let i = 0; i < RUNS; i++) {
      runIds.push((await gw.post('/flow_runs/', { flow_id: flowId, state: { type: 'SCHEDULED' } })).body.id);
    }
    const before = (await recorded()).length;

    await nats.stop();
    for (const id of runIds) {
      for (const type of ['PENDING', 'RUNNING', 'COMPLETED']) {
        expect((await gw.post(`/flow_runs/${id}/set_state`, { state: { type } })).body).toMatchObject({
          status: 'ACCEPT',
        });
      }
    }
    // Long enough for the client to try (and fail) to reconnect several times, each of which used to drop its buffer.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await nats.restart({ keepStore: true });
    const restartedAt = Date.now();

    const expected = runIds.flatMap((id) =>
      ['Pending', 'Running', 'Completed'].map((name) => `prefect.flow-run.${id} prefect.flow-run.${name}`),
    );
    let events: string[] = [];
    for (
      const deadline = Date.now() + 15_000;
      Date.now() < deadline;
      await new Promise((resolve) => setTimeout(resolve, 200))
    ) {
      events = (await recorded().catch(() => [])).slice(before);
      if (events.length >= expected.length) break;
    }
    console.log(
      `events after a NATS outage: ${events.length} of ${expected.length} recorded ${Date.now() - restartedAt} ms after NATS was back`,
    );
    expect(new Set(events)).toEqual(new Set(expected));
    // Oldest first: each run's events in the order its states were committed.
    for (const id of runIds) {
      expect(events.filter((e) => e.startsWith(`prefect.flow-run.${id} `))).toEqual(
        expected.filter((e) => e.startsWith(`prefect.flow-run.${id} `)),
      );
    }
  });
});
