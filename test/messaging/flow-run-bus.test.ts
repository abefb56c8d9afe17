import { loadConfig } from '@app/config';
import { natsNames, WorkerFlowRunResponse } from '@app/contracts';
import { FlowRunBus, NatsClient, parseMessageId } from '@app/messaging';
import { jetstreamManager, JetStreamManager } from '@nats-io/jetstream';
import { connect, NatsConnection } from '@nats-io/transport-node';
import { randomUUID } from 'node:crypto';
import { PrivateNatsServer } from '../../bench/nats-servers';

/** The bus passes the body through: these tests need no more of a run than its id, if that. */
const run = (fields: object = {}) => fields as WorkerFlowRunResponse;

/** The transport primitives against the real nats-server: layout, no-wait pulls, settlement, leases, purges. */
describe('FlowRunBus (real NATS JetStream)', () => {
  const config = loadConfig({ NATS_NAMESPACE: `test-bus-${process.pid}`, DELIVERY_LEASE_SECONDS: '1' });
  let nats: NatsClient;
  let bus: FlowRunBus;
  const poolId = randomUUID();
  const queueId = randomUUID();
  const key = (epoch = 0) => ({ runId: randomUUID(), stateId: randomUUID(), epoch });

  beforeAll(async () => {
    nats = await NatsClient.connect(config, 'bus-test');
    bus = new FlowRunBus(nats, config);
  });
  afterAll(async () => {
    await bus.deletePool(poolId);
    await nats.onApplicationShutdown();
  });

  it('answers a pull on an empty queue at once instead of waiting', async () => {
    const started = performance.now();
    expect(await bus.pullNow(poolId, queueId, 10)).toEqual([]);
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('delivers a published run once, with its dispatch key, and forgets it when acked', async () => {
    const k = key();
    const scheduledTime = new Date('2031-02-03T04:05:06.789Z');
    await bus.publish(poolId, queueId, k, run({ id: k.runId }), scheduledTime);
    const [message, ...rest] = await bus.pullNow(poolId, queueId, 10);
    expect(rest).toEqual([]);
    expect(message.publication).toEqual(k);
    expect(message.scheduledTime).toEqual(scheduledTime);
    expect(JSON.parse(Buffer.from(message.body).toString())).toEqual({ id: k.runId });
    expect(await bus.pullNow(poolId, queueId, 10)).toEqual([]); // held by us: no one else gets it
    bus.ack(message);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await bus.pullNow(poolId, queueId, 10)).toEqual([]); // acked: gone even after the lease
  });

  it('drops a re-publish of the same (run, state, epoch) and keeps a new epoch', async () => {
    const k = key();
    const first = await bus.publish(poolId, queueId, k, run());
    expect(first.duplicate).toBe(false);
    // A duplicate is answered with the sequence of the message it duplicates.
    expect(await bus.publish(poolId, queueId, k, run())).toEqual({ duplicate: true, seq: first.seq });
    expect(await bus.publish(poolId, queueId, { ...k, epoch: 1 }, run())).toEqual({
      duplicate: false,
      seq: first.seq + 1,
    });
    const messages = await bus.pullNow(poolId, queueId, 10);
    expect(messages.map((m) => m.publication?.epoch)).toEqual([0, 1]);
    messages.forEach((m) => bus.term(m));
  });

  it('redelivers an unsettled message after the lease (AckWait), and a nak at once', async () => {
    const k = key();
    await bus.publish(poolId, queueId, k, run());
    const [held] = await bus.pullNow(poolId, queueId, 1);
    expect(held.publication).toEqual(k);
    expect(await bus.pullNow(poolId, queueId, 1)).toEqual([]);
    await new Promise((r) => setTimeout(r, 1300));
    const [again] = await bus.pullNow(poolId, queueId, 1);
    expect(again.publication).toEqual(k);
    bus.nak(again);
    await new Promise((r) => setTimeout(r, 50));
    const [third] = await bus.pullNow(poolId, queueId, 1);
    expect(third.publication).toEqual(k);
    bus.term(third);
    await new Promise((r) => setTimeout(r, 1300));
    expect(await bus.pullNow(poolId, queueId, 1)).toEqual([]);
  });

  it('purges one queue without touching another', async () => {
    const other = randomUUID();
    await bus.publish(poolId, queueId, key(), run());
    await bus.publish(poolId, other, key(), run());
    await bus.purgeQueue(poolId, queueId);
    expect(await bus.pullNow(poolId, queueId, 10)).toEqual([]);
    const kept = await bus.pullNow(poolId, other, 10);
    expect(kept).toHaveLength(1);
    bus.ack(kept[0]);
  });

  it('counts in one request what each queue of a pool holds, messages pulled and not acked included', async () => {
    const [poolId, busy, quiet, empty] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    await bus.ensureQueueConsumer(poolId, empty);
    expect(await bus.storedPerQueue(poolId)).toEqual(new Map());
    await bus.publish(poolId, busy, key(), run());
    await bus.publish(poolId, busy, key(), run());
    await bus.publish(poolId, quiet, key(), run());
    expect(await bus.storedPerQueue(poolId)).toEqual(
      new Map([
        [busy, 2],
        [quiet, 1],
      ]),
    );
    const [held] = await bus.pullNow(poolId, busy, 1);
    expect((await bus.storedPerQueue(poolId))?.get(busy)).toBe(2);
    bus.ack(held);
    // The stream drops an acked message once its consumer has handled the ack.
    const deadline = Date.now() + 2000;
    while ((await bus.storedPerQueue(poolId))?.get(busy) !== 1 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect((await bus.storedPerQueue(poolId))?.get(busy)).toBe(1);
    await bus.deletePool(poolId);
  });

  it('parses only well-formed message ids', () => {
    expect(parseMessageId('nope')).toBeNull();
    expect(parseMessageId(undefined)).toBeNull();
  });
});

/** The bus heals by itself: what a publish or a pull finds gone while connected is created again on the spot. */
describe('FlowRunBus when its stream or consumer vanishes under a live connection', () => {
  let server: PrivateNatsServer;
  let nats: NatsClient;
  let bus: FlowRunBus;
  let admin: NatsConnection;
  let jsm: JetStreamManager;
  const names = natsNames('test-bus-heal');
  const key = (epoch = 1) => ({ runId: randomUUID(), stateId: randomUUID(), epoch });

  beforeAll(async () => {
    server = await PrivateNatsServer.start();
    const config = loadConfig({ NATS_URL: server.url, NATS_NAMESPACE: 'test-bus-heal', DELIVERY_LEASE_SECONDS: '30' });
    nats = await NatsClient.connect(config, 'bus-heal-test');
    bus = new FlowRunBus(nats, config);
    admin = await connect({ servers: server.url });
    jsm = await jetstreamManager(admin);
  });
  afterAll(async () => {
    await admin.close();
    await nats.onApplicationShutdown();
    await server.dispose();
  });

  it('a publish after the stream was deleted creates it again and stores the message', async () => {
    const [poolId, queueId] = [randomUUID(), randomUUID()];
    await bus.publish(poolId, queueId, key(), run());
    await jsm.streams.delete(names.poolStream(poolId));
    const k = key();
    expect(await bus.publish(poolId, queueId, k, run())).toEqual({ duplicate: false, seq: 1 });
    expect((await bus.pullNow(poolId, queueId, 10)).map((m) => m.publication)).toEqual([k]);
  });

  it('a pull after the consumer was deleted creates it again and gets the messages still in the stream', async () => {
    const [poolId, queueId] = [randomUUID(), randomUUID()];
    const k = key();
    await bus.publish(poolId, queueId, k, run());
    await jsm.consumers.delete(names.poolStream(poolId), names.queueConsumer(queueId));
    const started = performance.now();
    expect((await bus.pullNow(poolId, queueId, 10)).map((m) => m.publication)).toEqual([k]);
    // One unanswered pull (500 ms), then the consumer is checked, created again and pulled.
    expect(performance.now() - started).toBeLessThan(1500);
  });

  it('a count after the stream was deleted answers null, and the next pull creates it again without waiting', async () => {
    const [poolId, queueId] = [randomUUID(), randomUUID()];
    await bus.publish(poolId, queueId, key(), run());
    await jsm.streams.delete(names.poolStream(poolId));
    expect(await bus.storedPerQueue(poolId)).toBeNull();
    const started = performance.now();
    expect(await bus.pullNow(poolId, queueId, 10)).toEqual([]);
    // Forgotten with its stream, the consumer is created before the pull: no unanswered pull (500 ms) first.
    expect(performance.now() - started).toBeLessThan(450);
    expect((await jsm.consumers.info(names.poolStream(poolId), names.queueConsumer(queueId))).num_pending).toBe(0);
  });

  it('a pull after the stream was deleted creates it again', async () => {
    const [poolId, queueId] = [randomUUID(), randomUUID()];
    await bus.publish(poolId, queueId, key(), run());
    await jsm.streams.delete(names.poolStream(poolId));
    expect(await bus.pullNow(poolId, queueId, 10)).toEqual([]);
    expect((await jsm.consumers.info(names.poolStream(poolId), names.queueConsumer(queueId))).num_pending).toBe(0);
  });

  it('tells what a queue holds and what is stored under a sequence, and null for what is gone', async () => {
    const [poolId, queueId] = [randomUUID(), randomUUID()];
    const k = key();
    const { seq } = await bus.publish(poolId, queueId, k, run());
    expect(await bus.queueBacklog(poolId, queueId)).toBe(1);
    expect(await bus.storedPublication(poolId, seq)).toEqual(k);
    expect(await bus.storedPublication(poolId, seq + 1)).toBeNull();
    await jsm.consumers.delete(names.poolStream(poolId), names.queueConsumer(queueId));
    expect(await bus.queueBacklog(poolId, queueId)).toBeNull();
    await jsm.streams.delete(names.poolStream(poolId));
    expect(await bus.queueBacklog(poolId, queueId)).toBeNull();
    expect(await bus.storedPublication(poolId, seq)).toBeNull();
  });
});
