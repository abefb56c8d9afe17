import { Api, BusProbe, Fixtures, GatewayProcess, PollLoop, Sql, sleep, waitFor } from '../support/delivery';
import { FaultProxy, NatsPublishFilter } from '../support/fault-proxy';
import { TestGateway } from '../support/gateway';
import { PrivateNatsServer } from '../../bench/nats-servers';
import { AppProcess } from '../support/processes';
import { TestScheduler } from '../support/scheduler';

/**
 * I3 "Nothing lost", fault by fault, against real Postgres and NATS; the process a fault kills runs as a real
 * process (`npx nest build gateway` first). No test hook exists in production code: each window is opened from
 * outside (a row lock held from another session, a TCP proxy that withholds replies or drops acks) and the kill
 * is a real SIGKILL. Every test asserts both halves of the promise: the run comes back within
 * lease + dispatch interval of the fault, and no second holder receives it while a lease on it runs (I2).
 */
const LEASE_MS = 2000;
const INTERVAL_MS = 200;
/** Poll loop cadence plus the dispatcher's and the poll's own work: what "within" may add to the contract. */
const SLACK_MS = 300;
const SETTINGS = {
  DELIVERY_LEASE_SECONDS: String(LEASE_MS / 1000),
  DISPATCH_INTERVAL_MS: String(INTERVAL_MS),
  LOG_LEVEL: 'error',
};
const NATS = { host: '127.0.0.1', port: 4222 };

jest.setTimeout(60_000);

async function claim(api: Api, runId: string): Promise<string> {
  return (await api.request('POST', `/flow_runs/${runId}/set_state`, { state: { type: 'PENDING' } })).body.status;
}

/** Keeps polling for a while after the last receipt and asserts the run was handed out exactly once. */
async function expectSingleReceipt(loop: PollLoop, runId: string, observeMs = LEASE_MS / 2): Promise<void> {
  await sleep(observeMs);
  expect(loop.receiptsOf(runId)).toHaveLength(1);
}

describe('I3: a run survives the death of whoever held it', () => {
  let gw: TestGateway;
  let scheduler: TestScheduler;
  let fx: Fixtures;
  let sql: Sql;
  const cleanups: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    gw = await TestGateway.start(SETTINGS);
    scheduler = await TestScheduler.start(gw.config);
    fx = await Fixtures.create(gw);
    sql = await Sql.connect(gw.config.db.url);
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });
  afterAll(async () => {
    await sql.end();
    await scheduler.stop();
    await gw.stop();
  });

  function pollLoop(pool: string, holder = 'poller'): PollLoop {
    const loop = new PollLoop(gw, pool, holder);
    cleanups.push(() => loop.stop());
    return loop;
  }

  it('a poller that never claims: the run is delivered again once the lease ends, never before', async () => {
    await fx.pool('never-claims');
    const run = await fx.run('never-claims');
    const loop = pollLoop('never-claims');
    const first = await loop.receipt(run.id);
    const { leased_until: leasedUntil } = await sql.deliveryColumns(run.id);

    const second = await loop.receipt(run.id, 2, LEASE_MS + INTERVAL_MS + 2000);
    // I2: nobody else got it while the first holder's lease ran.
    expect(second.at).toBeGreaterThan(leasedUntil!.getTime());
    // I3: back within lease + dispatch interval of the first hand-out.
    expect(second.at - first.at).toBeLessThanOrEqual(LEASE_MS + INTERVAL_MS + SLACK_MS);
    expect(await claim(gw, run.id)).toBe('ACCEPT');
    await sleep(LEASE_MS / 2);
    expect(loop.receiptsOf(run.id)).toHaveLength(2);
  });

  it('kill -9 of a gateway that pulled the run and had not leased it yet: JetStream gives it to another replica after the lease', async () => {
    // The victim pulls the message, then blocks in `leaseOffered`'s SELECT ... FOR UPDATE on the run's row,
    // which this session holds: the window between "taken from the bus" and "lease recorded" stays open as long
    // as the test likes. The kill leaves the message delivered-but-unacked and the row untouched.
    await fx.pool('kill-before-lease');
    const victim = await GatewayProcess.start(gw.config);
    cleanups.push(() => victim.kill());
    const run = await fx.run('kill-before-lease');
    await waitFor('the run on the bus', () => sql.isDispatched(run.id));

    const locker = await Sql.connect(gw.config.db.url);
    cleanups.push(() => locker.end());
    await locker.query('BEGIN');
    await locker.query('SELECT 1 FROM flow_run WHERE id = $1 FOR UPDATE', [run.id]);
    const sentAt = Date.now();
    const victimPoll = victim.request('POST', '/work_pools/kill-before-lease/get_scheduled_flow_runs', {}).then(
      (response) => ({ answered: response.status }),
      () => ({ answered: null }),
    );
    await waitFor('the victim blocked on the run row', async () => {
      const waiting = await sql.query(
        `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE '%FOR UPDATE%'`,
      );
      return waiting.length > 0;
    });
    const blockedAt = Date.now();
    await victim.kill();
    await locker.query('COMMIT');
    expect(await victimPoll).toEqual({ answered: null });
    expect((await sql.deliveryColumns(run.id)).leased_until).toBeNull();

    const loop = pollLoop('kill-before-lease', 'replica');
    const receipt = await loop.receipt(run.id, 1, LEASE_MS + INTERVAL_MS + 5000);
    // The dead gateway's hold lasted its whole lease (JetStream's AckWait from the pull, which came after sentAt).
    expect(receipt.at).toBeGreaterThanOrEqual(sentAt + LEASE_MS);
    // ... and not longer: the pull happened before blockedAt.
    expect(receipt.at).toBeLessThanOrEqual(blockedAt + LEASE_MS + INTERVAL_MS + SLACK_MS);
    expect(await claim(gw, run.id)).toBe('ACCEPT');
    await expectSingleReceipt(loop, run.id);
  });

  it.each([
    ['its ack never reached NATS', true],
    ['its ack reached NATS', false],
  ])(
    'kill -9 of a gateway that committed the lease and never answered (%s): delivered again after the lease, not during it',
    async (_case, ackLost) => {
      // The victim's HTTP answer goes through a proxy that withholds every byte of it, so no poller ever learns
      // the run was leased to it; its NATS connection goes through a proxy that drops its `$JS.ACK` publications
      // when `ackLost`. The durable state at the kill is then exactly what a kill between commit and response
      // leaves: the lease committed, the message unacked (or acked). The response itself is not state.
      const pool = `kill-after-lease-${ackLost ? 'unacked' : 'acked'}`;
      const poolId = await fx.pool(pool);
      const acks = new NatsPublishFilter((subject) => (ackLost && subject.startsWith('$JS.ACK.') ? 'drop' : 'pass'));
      const natsProxy = await FaultProxy.start(NATS, acks.filter);
      cleanups.push(() => natsProxy.close());
      const victim = await GatewayProcess.start(gw.config, { NATS_URL: `nats://127.0.0.1:${natsProxy.port}` });
      cleanups.push(() => victim.kill());
      const httpProxy = await FaultProxy.start({ host: '127.0.0.1', port: victim.port });
      cleanups.push(() => httpProxy.close());
      httpProxy.holdDownstream();

      const run = await fx.run(pool);
      await waitFor('the run on the bus', () => sql.isDispatched(run.id));
      const lostPoll = fetch(`http://127.0.0.1:${httpProxy.port}/api/work_pools/${pool}/get_scheduled_flow_runs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      }).then(
        () => 'answered',
        () => 'never answered',
      );
      const leasedUntil = await waitFor(
        'the lease committed',
        async () => (await sql.deliveryColumns(run.id)).leased_until,
      );
      const leasedAt = Date.now();
      if (ackLost) await waitFor('the victim trying to ack', () => Promise.resolve(acks.dropped > 0));
      else {
        await waitFor(
          'the ack processed by JetStream',
          async () => (await new BusProbe(gw.config).consumer(poolId, run.work_queue_id)).num_ack_pending === 0,
        );
      }
      await victim.kill();
      expect(await lostPoll).toBe('never answered');

      const loop = pollLoop(pool, 'replica');
      const receipt = await loop.receipt(run.id, 1, LEASE_MS + INTERVAL_MS + 5000);
      expect(receipt.at).toBeGreaterThan(leasedUntil.getTime());
      expect(receipt.at).toBeLessThanOrEqual(leasedAt + LEASE_MS + INTERVAL_MS + SLACK_MS);
      expect(await claim(gw, run.id)).toBe('ACCEPT');
      // The old message (redelivered by JetStream when unacked) and the re-publication must not both reach pollers.
      await expectSingleReceipt(loop, run.id, LEASE_MS + 500);
    },
  );
});

describe('I3: kill -9 of the scheduler between publishing a run and recording it', () => {
  let gw: TestGateway;
  let fx: Fixtures;
  let sql: Sql;
  const cleanups: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    gw = await TestGateway.start(SETTINGS);
    fx = await Fixtures.create(gw);
    sql = await Sql.connect(gw.config.db.url);
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });
  afterAll(async () => {
    await sql.end();
    await gw.stop();
  });

  /**
   * Runs the scheduler as a real process whose NATS replies pass through a proxy, lets it set the pool up, then
   * withholds its PubAcks: it publishes the run (the message is stored) and waits forever inside the transaction
   * that would record it. The test sees the message in the stream and the row still unrecorded, and kills it.
   */
  async function killSchedulerMidPublish(pool: string): Promise<{ runId: string; killedAt: number }> {
    const poolId = await fx.pool(pool);
    const proxy = await FaultProxy.start(NATS);
    cleanups.push(() => proxy.close());
    const victim = AppProcess.start('scheduler', {
      DATABASE_URL: gw.config.db.url,
      NATS_URL: `nats://127.0.0.1:${proxy.port}`,
      NATS_NAMESPACE: gw.config.nats.namespace,
      DELIVERY_LEASE_SECONDS: SETTINGS.DELIVERY_LEASE_SECONDS,
      DISPATCH_INTERVAL_MS: SETTINGS.DISPATCH_INTERVAL_MS,
      LOG_LEVEL: 'info',
    });
    cleanups.push(() => victim.stop('SIGKILL'));
    await victim.waitForLine(/scheduler started/);

    // Warm-up: the victim creates the pool's stream and the queue's consumer and delivers one run normally.
    const warm = await fx.run(pool);
    const warmLoop = new PollLoop(gw, pool, 'warm-up');
    await warmLoop.receipt(warm.id).finally(() => warmLoop.stop());
    expect(await claim(gw, warm.id)).toBe('ACCEPT');

    proxy.holdDownstream();
    const run = await fx.run(pool);
    const bus = new BusProbe(gw.config);
    const storedId = await waitFor('the run stored in the stream', async () => {
      const id = await bus.lastMessageId(poolId, run.work_queue_id);
      return id?.startsWith(run.id) ? id : null;
    });
    expect(storedId).toBe(`${run.id}:${run.state_id}:1`);
    expect(await sql.isDispatched(run.id)).toBe(false);
    await victim.stop('SIGKILL');
    const killedAt = Date.now();
    // Its transaction is gone once the row can be locked without waiting.
    await waitFor('the victim transaction rolled back', async () => {
      await sql.query('BEGIN');
      const free = await sql.query('SELECT 1 FROM flow_run WHERE id = $1 FOR UPDATE NOWAIT', [run.id]).then(
        () => true,
        () => false,
      );
      await sql.query('ROLLBACK');
      return free;
    });
    expect(await sql.deliveryColumns(run.id)).toMatchObject({ dispatch_epoch: 0, dispatched_state_id: null });
    return { runId: run.id, killedAt };
  }

  it('a replacement scheduler that records before any poll: the run is delivered once', async () => {
    const { runId, killedAt } = await killSchedulerMidPublish('sched-kill-a');
    const replacement = await TestScheduler.start(gw.config);
    cleanups.push(() => replacement.stop());
    await waitFor('the replacement recording the publication', () => sql.isDispatched(runId));

    const loop = new PollLoop(gw, 'sched-kill-a');
    cleanups.push(() => loop.stop());
    const receipt = await loop.receipt(runId, 1, LEASE_MS + INTERVAL_MS + 5000);
    expect(receipt.at - killedAt).toBeLessThanOrEqual(LEASE_MS + INTERVAL_MS + SLACK_MS);
    expect(await claim(gw, runId)).toBe('ACCEPT');
    await expectSingleReceipt(loop, runId);
  });

  it('workers polling while the scheduler is dead, replacement started after: the run is delivered once', async () => {
    // Workers poll all the time, so a poll meets the orphaned message (published, never recorded) before any
    // replacement scheduler runs. The run must still reach a worker within lease + dispatch interval.
    const { runId, killedAt } = await killSchedulerMidPublish('sched-kill-b');
    const loop = new PollLoop(gw, 'sched-kill-b');
    cleanups.push(() => loop.stop());
    await sleep(500);
    const replacement = await TestScheduler.start(gw.config);
    cleanups.push(() => replacement.stop());

    const receipt = await loop.receipt(runId, 1, LEASE_MS + INTERVAL_MS + 5000).catch(async (error: Error) => {
      throw new Error(
        `${error.message}; the run now: ${JSON.stringify(await sql.deliveryColumns(runId))}, messages on its stream: ${await new BusProbe(gw.config).streamMessages((await gw.get('/work_pools/sched-kill-b')).body.id)}`,
        {
          cause: error,
        },
      );
    });
    expect(receipt.at - killedAt).toBeLessThanOrEqual(LEASE_MS + INTERVAL_MS + SLACK_MS + 500);
    expect(await claim(gw, runId)).toBe('ACCEPT');
    await expectSingleReceipt(loop, runId);
  });
});

describe('I3: NATS restarts', () => {
  const LONG_LEASE_MS = 10_000;
  let nats: PrivateNatsServer;
  let gw: TestGateway;
  let scheduler: TestScheduler;
  let fx: Fixtures;
  let sql: Sql;

  beforeEach(async () => {
    nats = await PrivateNatsServer.start();
    // A long lease, so "each run exactly once" is observed entirely inside one lease (I2); a poll's lease too.
    gw = await TestGateway.start({
      ...SETTINGS,
      DELIVERY_LEASE_SECONDS: String(LONG_LEASE_MS / 1000),
      DELIVERY_CLAIM_WINDOW_MS: String(LONG_LEASE_MS),
      NATS_URL: nats.url,
    });
    scheduler = await TestScheduler.start(gw.config);
    fx = await Fixtures.create(gw);
    sql = await Sql.connect(gw.config.db.url);
  });
  afterEach(async () => {
    await sql.end();
    await scheduler.stop();
    await gw.stop();
    await nats.dispose();
  });

  async function dueRuns(pool: string, count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) ids.push((await fx.run(pool)).id);
    return ids;
  }

  /**
   * Polls until every run arrived or `withinMs` passed, then a little longer; asserts every run arrived, none
   * twice inside one lease (I2), and each is still claimable (nobody else got it).
   */
  async function expectEachDeliveredOnce(pool: string, runIds: string[], withinMs: number): Promise<void> {
    const loop = new PollLoop(gw, pool, 'poller', () => ({ limit: 3 }));
    try {
      await waitFor(
        `all ${runIds.length} runs delivered`,
        () => Promise.resolve(runIds.every((id) => loop.receiptsOf(id).length > 0)),
        withinMs,
      ).catch(() => undefined);
      await sleep(500);
    } finally {
      await loop.stop();
    }
    const undelivered = runIds.filter((id) => loop.receiptsOf(id).length === 0);
    expect({ undelivered: undelivered.length, of: runIds.length }).toEqual({ undelivered: 0, of: runIds.length });
    const twiceInOneLease = runIds.filter((id) =>
      loop.receiptsOf(id).some((r, i, all) => i > 0 && r.at - all[i - 1].at < LONG_LEASE_MS),
    );
    expect(twiceInOneLease).toEqual([]);
    for (const id of runIds) expect(await claim(gw, id)).toBe('ACCEPT');
  }

  /** One poll that hands out a run, so the gateway has talked to JetStream before the fault. */
  async function warmUp(pool: string): Promise<void> {
    const warm = await fx.run(pool);
    const loop = new PollLoop(gw, pool, 'warm-up');
    await loop.receipt(warm.id).finally(() => loop.stop());
    expect(await claim(gw, warm.id)).toBe('ACCEPT');
  }

  it('restart with the store kept: runs on the bus and runs created while it was down are each delivered once', async () => {
    await fx.pool('restart-kept');
    await warmUp('restart-kept');
    const onBus = await dueRuns('restart-kept', 20);
    await waitFor('every run on the bus', () => sql.allDispatched(onBus));

    await nats.stop();
    const whileDown = await dueRuns('restart-kept', 5);
    await nats.restart({ keepStore: true });
    await expectEachDeliveredOnce('restart-kept', [...onBus, ...whileDown], LONG_LEASE_MS + INTERVAL_MS);
  });

  it('a gateway whose first poll comes while NATS is restarting serves polls once NATS is back', async () => {
    // Same restart, but the gateway had not used JetStream before it: its first poll meets the outage.
    await fx.pool('restart-cold');
    const onBus = await dueRuns('restart-cold', 5);
    await waitFor('every run on the bus', () => sql.allDispatched(onBus));

    await nats.stop();
    const duringOutage = await gw.post('/work_pools/restart-cold/get_scheduled_flow_runs', {});
    await nats.restart({ keepStore: true });
    expect(duringOutage.status).not.toBe(200);
    await expectEachDeliveredOnce('restart-cold', onBus, LONG_LEASE_MS + INTERVAL_MS);
  });

  it('restart with the store lost: the runs that were on the bus are delivered again', async () => {
    await fx.pool('store-lost');
    await warmUp('store-lost');
    const onBus = await dueRuns('store-lost', 10);
    await waitFor('every run on the bus', () => sql.allDispatched(onBus));

    await nats.restart({ keepStore: false });
    await expectEachDeliveredOnce('store-lost', onBus, LONG_LEASE_MS + INTERVAL_MS + 1000);
  });

  it('restart with the store lost: runs created afterwards are delivered', async () => {
    await fx.pool('store-lost-new');
    await warmUp('store-lost-new');

    await nats.restart({ keepStore: false });
    const created = await dueRuns('store-lost-new', 5);
    await expectEachDeliveredOnce('store-lost-new', created, LONG_LEASE_MS + INTERVAL_MS + 1000);
  });
});
