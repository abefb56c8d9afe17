import { loadConfig } from '@app/config';
import { natsNames, WorkerFlowRunResponse } from '@app/contracts';
import { FlowRunBus, NatsClient } from '@app/messaging';
import { jetstreamManager, JetStreamManager } from '@nats-io/jetstream';
import { connect, NatsConnection } from '@nats-io/transport-node';
import { randomUUID } from 'node:crypto';
import { PrivateNatsCluster } from '../../bench/nats-servers';

const run = (fields: object = {}) => fields as WorkerFlowRunResponse;
const key = () => ({ runId: randomUUID(), stateId: randomUUID(), epoch: 1 });

/** NATS_STREAM_REPLICAS on a real three-node cluster: new streams get it, older ones are scaled in place. */
describe('stream and consumer replicas (three-node NATS cluster)', () => {
  const namespace = `test-replicas-${process.pid}`;
  const names = natsNames(namespace);
  let cluster: PrivateNatsCluster;
  let admin: NatsConnection;
  let jsm: JetStreamManager;
  const clients: NatsClient[] = [];

  const busWith = async (replicas: string) => {
    const config = loadConfig({
      NATS_URL: cluster.url,
      NATS_NAMESPACE: namespace,
      NATS_STREAM_REPLICAS: replicas,
      DELIVERY_LEASE_SECONDS: '30',
    });
    const nats = await NatsClient.connect(config, `replicas-${replicas}`);
    clients.push(nats);
    return new FlowRunBus(nats, config);
  };

  beforeAll(async () => {
    cluster = await PrivateNatsCluster.start(3);
    admin = await connect({ servers: cluster.url.split(',') });
    jsm = await jetstreamManager(admin);
  }, 60_000);
  afterAll(async () => {
    for (const client of clients) await client.onApplicationShutdown();
    await admin?.close();
    await cluster?.dispose();
  });

  it('creates every stream and consumer with NATS_STREAM_REPLICAS replicas', async () => {
    const bus = await busWith('3');
    const [poolId, queueId] = [randomUUID(), randomUUID()];
    await bus.publish(poolId, queueId, key(), run());
    const stream = await jsm.streams.info(names.poolStream(poolId));
    expect(stream.config.num_replicas).toBe(3);
    expect(stream.cluster?.leader).toBeDefined();
    expect(stream.cluster?.replicas).toHaveLength(2);
    const consumer = await jsm.consumers.info(names.poolStream(poolId), names.queueConsumer(queueId));
    expect(consumer.config.num_replicas).toBe(3);
    expect(consumer.cluster?.replicas).toHaveLength(2);
  });

  it('scales an existing single-replica stream and consumer in place, losing no run and no lease', async () => {
    const [poolId, queueId] = [randomUUID(), randomUUID()];
    const before = await busWith('1');
    const waiting = Array.from({ length: 5 }, key);
    for (const k of waiting) await before.publish(poolId, queueId, k, run());
    // One run is out on a lease when the replicas change: it must stay leased, not come back at once.
    const [held] = await before.pullNow(poolId, queueId, 1);
    expect(held.publication).toEqual(waiting[0]);
    expect((await jsm.streams.info(names.poolStream(poolId))).config.num_replicas).toBe(1);

    const after = await busWith('3');
    const added = key();
    await after.publish(poolId, queueId, added, run());

    const stream = await jsm.streams.info(names.poolStream(poolId));
    expect(stream.config.num_replicas).toBe(3);
    expect(stream.state.messages).toBe(6);
    const consumer = await jsm.consumers.info(names.poolStream(poolId), names.queueConsumer(queueId));
    expect(consumer.config.num_replicas).toBe(3);
    const pulled = await after.pullNow(poolId, queueId, 10);
    expect(pulled.map((m) => m.publication)).toEqual([...waiting.slice(1), added]);
    pulled.forEach((m) => after.ack(m));
  });
});
