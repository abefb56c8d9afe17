import { Fixtures, GatewayProcess, sleep, Sql, waitFor } from '../support/delivery';
import { FaultProxy, NatsPublishFilter } from '../support/fault-proxy';
import { TestGateway } from '../support/gateway';
import { AppProcess } from '../support/processes';
import { TestScheduler } from '../support/scheduler';

/**
 * I10 "No protocol rule may leave a claimed run with nobody running it because a reply was lost", with the example
 * NATS worker as a real process (`npm run build` first). The gateways reach NATS through a proxy that drops every
 * other reply they send: half the claims commit and their sender never hears of it, as when a gateway dies
 * between its commit and its reply. Following docs/nats-workers.md, a worker resends the same claim and learns that
 * it won; giving the message back instead (the old rule) let the next holder's claim be refused and the run stay
 * PENDING with nobody to run it.
 */
const RUNS = 12;
const LEASE_SECONDS = 2;
const CLAIM_TIMEOUT_MS = 500;
const NATS = { host: '127.0.0.1', port: 4222 };
jest.setTimeout(60_000);

describe('I10: a lost claim reply never orphans a run', () => {
  let gw: TestGateway;
  let scheduler: TestScheduler;
  let replica: GatewayProcess;
  let sql: Sql;
  let gatewayNats: FaultProxy;
  let workerNats: FaultProxy;
  let replies = 0;
  let claimRequests = 0;
  /** Drops every other reply a gateway sends (its replies are its only publishes to an inbox; a worker's is `_INBOX_<pool id>`). */
  const replyDropper = new NatsPublishFilter((subject) =>
    subject.startsWith('_INBOX') && replies++ % 2 === 0 ? 'drop' : 'pass',
  );
  let consumerLookups = 0;
  /** Counts the workers' claim requests (single or batch), resends included, and their consumer lookups (JetStream API requests). */
  const claimCounter = new NatsPublishFilter((subject) => {
    if (/\.api\.flow-runs\.claims?\./.test(subject)) claimRequests++;
    if (subject.startsWith('$JS.API.CONSUMER.INFO.')) consumerLookups++;
    return 'pass';
  });

  beforeAll(async () => {
    gatewayNats = await FaultProxy.start(NATS, replyDropper.filter);
    workerNats = await FaultProxy.start(NATS, claimCounter.filter);
    gw = await TestGateway.start({
      NATS_URL: `nats://127.0.0.1:${gatewayNats.port}`,
      DELIVERY_LEASE_SECONDS: String(LEASE_SECONDS),
      DISPATCH_INTERVAL_MS: '100',
      LATE_RUNS_ENABLED: 'false',
    });
    scheduler = await TestScheduler.start(gw.config);
    replica = await GatewayProcess.start(gw.config);
    sql = await Sql.connect(gw.config.db.url);
  });
  afterAll(async () => {
    await sql.end();
    await replica.stop();
    await scheduler.stop();
    await gw.stop();
    await gatewayNats.close();
    await workerNats.close();
  });

  it('every claimed run is started by exactly one worker, each run once', async () => {
    const fx = await Fixtures.create(gw);
    await fx.pool('orphans');
    const runIds: string[] = [];
    for (let i = 0; i < RUNS; i++) runIds.push((await fx.run('orphans')).id);

    const workers = ['w1', 'w2'].map((name) =>
      AppProcess.start('nats-worker', {}, [
        '--pool',
        'orphans',
        '--api',
        replica.url,
        '--nats',
        `nats://127.0.0.1:${workerNats.port}`,
        '--namespace',
        gw.config.nats.namespace,
        '--name',
        name,
        '--claim-timeout-ms',
        String(CLAIM_TIMEOUT_MS),
      ]),
    );
    const starts = () =>
      workers.flatMap((worker) =>
        worker.lines
          .map((line) => JSON.parse(line) as { message: string; worker: string; flow_run_id?: string })
          .filter((entry) => entry.message.startsWith('claimed flow run'))
          .map((entry) => ({ runId: entry.flow_run_id, worker: entry.worker })),
      );
    try {
      const startedAt = Date.now();
      await waitFor(
        'every run started',
        () => Promise.resolve(new Set(starts().map((start) => start.runId)).size >= RUNS),
        30_000,
        50,
      ).catch(() => null);
      const drainMs = Date.now() - startedAt;
      // Whatever a worker still does with a message it gave back, it would do within a lease.
      await sleep(LEASE_SECONDS * 1000 + 500);

      const started = starts();
      const rows = await sql.query<{ id: string; state_type: string }>(
        'SELECT id, state_type FROM flow_run WHERE id = ANY($1)',
        [runIds],
      );
      const orphans = rows.filter(
        (row) => row.state_type === 'PENDING' && !started.some((start) => start.runId === row.id),
      );
      process.stdout.write(
        `${JSON.stringify({ runs: RUNS, orphans: orphans.length, repliesDropped: replyDropper.dropped, claimRequests, consumerLookups, drainMs })}\n`,
      );

      expect(replyDropper.dropped).toBeGreaterThanOrEqual(RUNS / 2);
      expect(orphans).toEqual([]);
      expect(rows.every((row) => row.state_type === 'PENDING')).toBe(true);
      // Each run started once: one start line per run, in all.
      expect(started.map((start) => start.runId).sort()).toEqual([...runIds].sort());
      // A resend per lost reply, not a storm: at most three requests per run.
      expect(claimRequests).toBeLessThanOrEqual(RUNS * 3);
      // A worker looks its queue's consumer up once (again only while it does not exist yet), not before every pull.
      expect(consumerLookups).toBeLessThanOrEqual(workers.length * 2);
    } finally {
      await Promise.all(workers.map((worker) => worker.stop()));
    }
  });
});
