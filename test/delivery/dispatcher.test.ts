import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { natsNames } from '@app/contracts';
import { TestGateway } from '../support/gateway';
import { TestScheduler } from '../support/scheduler';

/** The dispatcher on its own: replicas split the work, and future runs go out when they come due. */
describe('dispatcher', () => {
  let gw: TestGateway;
  let flowId: string;

  beforeAll(async () => {
    // A long safety interval: anything prompt below is the dispatcher's own timing, not the net.
    gw = await TestGateway.start({ DISPATCH_INTERVAL_MS: '60000' });
    flowId = (await gw.post('/flows/', { name: 'dispatch' })).body.id;
  });
  afterAll(() => gw.stop());

  async function waitFor<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (done(value) || Date.now() > deadline) return value;
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  it('three replicas publish each of 300 due runs exactly once', async () => {
    const pool = await gw.post('/work_pools/', { name: 'replicas', type: 'process' });
    const replicas = await Promise.all([1, 2, 3].map(() => TestScheduler.start(gw.config)));
    try {
      const created = await Promise.all(
        Array.from({ length: 300 }, () =>
          gw.post('/flow_runs/', { flow_id: flowId, work_pool_name: 'replicas', state: { type: 'SCHEDULED' } }),
        ),
      );
      const ids = created.map((response) => response.body.id as string);
      const published = () =>
        gw.db.repos.flowRuns
          .findDetailedByIds(ids)
          .then((runs) => runs.filter((run) => run.dispatched_state_id === run.state_id));
      const runs = await waitFor(published, (list) => list.length === 300);
      expect(runs).toHaveLength(300);
      // One publication each: epoch 1 everywhere, and exactly 300 messages in the pool's stream.
      expect(new Set(runs.map((run) => run.dispatch_epoch))).toEqual(new Set([1]));
      const nc = await connect({ servers: gw.config.nats.url });
      const info = await (
        await jetstreamManager(nc)
      ).streams.info(natsNames(gw.config.nats.namespace).poolStream(pool.body.id));
      await nc.close();
      expect(info.state.messages).toBe(300);
    } finally {
      await Promise.all(replicas.map((replica) => replica.stop()));
    }
    // Three schedulers boot and stop within the case.
  }, 60_000);

  it('publishes a future run when it enters the horizon, without waiting for the safety interval', async () => {
    await gw.post('/work_pools/', { name: 'future', type: 'process' });
    const scheduler = await TestScheduler.start(gw.config);
    try {
      const horizonMs = gw.config.dispatch.horizonSeconds * 1000;
      const startsAt = new Date(Date.now() + horizonMs + 1500);
      const run = await gw.post('/flow_runs/', {
        flow_id: flowId,
        work_pool_name: 'future',
        state: { type: 'SCHEDULED', state_details: { scheduled_time: startsAt.toISOString() } },
      });
      const dueAt = startsAt.getTime() - horizonMs;
      const row = await waitFor(
        () => gw.db.repos.flowRuns.findById(run.body.id),
        (r) => r?.dispatched_state_id === r?.state_id,
        5000,
      );
      const publishedBy = Date.now();
      expect(row?.dispatched_state_id).toBe(row?.state_id);
      // Not before it was due, and promptly after (the 60 s safety interval is not what woke it).
      expect(publishedBy).toBeGreaterThanOrEqual(dueAt - 50);
      expect(publishedBy - dueAt).toBeLessThan(1000);
    } finally {
      await scheduler.stop();
    }
  });
});
