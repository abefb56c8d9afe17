import { natsNames } from '@app/contracts';
import { NatsClient } from '@app/messaging';
import { connect } from '@nats-io/transport-node';
import { randomUUID } from 'node:crypto';
import { MetricsRegistry } from '@app/observability';
import { SchedulerMetrics } from '../../apps/scheduler/src/metrics/scheduler-metrics';
import { Sql } from '../support/delivery';
import { TestGateway } from '../support/gateway';
import { TestScheduler } from '../support/scheduler';

/** One sample of the text exposition format. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Exposition {
  samples: Sample[];
  /** Metric family name → its TYPE. */
  types: Map<string, string>;
}

/** Parses Prometheus' text format (0.0.4) strictly enough to fail on anything malformed. */
function parseExposition(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      types.set(type[1], type[2]);
      continue;
    }
    if (line.startsWith('# HELP ')) continue;
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!sample) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (sample[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[key] = value;
    }
    // Prometheus reads floats as Go's ParseFloat does: NaN in any case (prom-client writes `Nan` before any sample).
    const value = /^nan$/i.test(sample[3]) ? NaN : sample[3] === '+Inf' ? Infinity : Number(sample[3]);
    if (Number.isNaN(value) && !/^nan$/i.test(sample[3])) throw new Error(`not a number: ${line}`);
    samples.push({ name: sample[1], labels, value });
  }
  return { samples, types };
}

/** The value of the one sample named `name` whose labels include `labels` (undefined if none). */
function valueOf(exposition: Exposition, name: string, labels: Record<string, string> = {}): number | undefined {
  return exposition.samples.find(
    (sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  )?.value;
}

const P = 'prefect_dispatch_';

async function scrapeGateway(gw: TestGateway, headers: Record<string, string> = {}) {
  return gw.app.inject({ method: 'GET', url: '/metrics', headers });
}

async function until<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Issue 13: Prometheus metrics at `/metrics` on the gateway and the scheduler. */
describe('metrics', () => {
  let gw: TestGateway;
  let scheduler: TestScheduler;
  let flowId: string;

  beforeAll(async () => {
    gw = await TestGateway.start({
      METRICS_SAMPLE_SECONDS: '0.2',
      DISPATCH_RECONCILE_SECONDS: '0.2',
      LATE_RUNS_LOOP_SECONDS: '0.2',
      LATE_RUNS_AFTER_SECONDS: '1',
      FOREMAN_LOOP_SECONDS: '0.2',
      SCHEDULER_RECENT_DEPLOYMENTS_LOOP_SECONDS: '0.5',
    });
    scheduler = await TestScheduler.start(gw.config);
    flowId = (await gw.post('/flows/', { name: 'metrics' })).body.id;
  });
  afterAll(async () => {
    await scheduler.stop();
    await gw.stop();
  });

  const scrapeScheduler = async () => parseExposition(await scheduler.app.get(MetricsRegistry).exposition());

  it('serves the exposition format at /metrics, outside /api, with the process and Node defaults', async () => {
    const response = await scrapeGateway(gw);
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const exposition = parseExposition(response.body);
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes']) {
      expect([name, valueOf(exposition, name)]).toEqual([name, expect.any(Number)]);
    }
    expect(valueOf(exposition, `${P}nats_connected`)).toBe(1);
    expect(valueOf(exposition, `${P}nats_reconnects_total`)).toBe(0);
    expect(valueOf(exposition, `${P}db_pool_connections_in_use`)).toEqual(expect.any(Number));
    expect(valueOf(exposition, `${P}db_pool_waiting_requests`)).toBe(0);
    expect((await gw.get('/metrics')).status).toBe(404);
  });

  it('counts polls by outcome, long-poll waits, runs handed out, claims by result and set_state latency', async () => {
    await gw.post('/work_pools/', { name: 'metrics-pool', type: 'process' });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const run = await gw.post('/flow_runs/', {
        flow_id: flowId,
        work_pool_name: 'metrics-pool',
        state: { type: 'SCHEDULED' },
      });
      ids.push(run.body.id);
    }
    const handedOut: string[] = [];
    await until(
      async () => {
        const poll = await gw.post('/work_pools/metrics-pool/get_scheduled_flow_runs', {});
        handedOut.push(...(poll.body as { flow_run: { id: string } }[]).map((offer) => offer.flow_run.id));
        return handedOut.length;
      },
      (count) => count >= 3,
    );
    expect(handedOut.sort()).toEqual([...ids].sort());
    // Leased and not claimed: outstanding, as the next sample sees it.
    await until(scrapeScheduler, (e) => valueOf(e, `${P}leases_outstanding`) === 3);

    const longPoll = await gw.request(
      'POST',
      '/work_pools/metrics-pool/get_scheduled_flow_runs',
      {},
      { prefer: 'wait=1' },
    );
    expect(longPoll.body).toEqual([]);
    expect((await gw.post(`/flow_runs/${ids[0]}/set_state`, { state: { type: 'PENDING' } })).body.status).toBe(
      'ACCEPT',
    );
    expect((await gw.post(`/flow_runs/${ids[0]}/set_state`, { state: { type: 'PENDING' } })).body.status).toBe('ABORT');
    expect((await gw.post(`/flow_runs/${ids[0]}/set_state`, { state: { type: 'RUNNING' } })).body.status).toBe(
      'ACCEPT',
    );

    const exposition = parseExposition((await scrapeGateway(gw)).body);
    expect(valueOf(exposition, `${P}runs_handed_out_total`)).toBe(3);
    expect(valueOf(exposition, `${P}poll_duration_seconds_count`, { outcome: 'runs' })).toBeGreaterThanOrEqual(1);
    expect(valueOf(exposition, `${P}poll_duration_seconds_count`, { outcome: 'empty' })).toBeGreaterThanOrEqual(1);
    expect(valueOf(exposition, `${P}poll_wait_seconds_count`)).toBe(1);
    expect(valueOf(exposition, `${P}poll_wait_seconds_sum`)).toBeGreaterThanOrEqual(0.9);
    // Claims are the PENDING proposals; RUNNING is timed but is no claim.
    expect(valueOf(exposition, `${P}claims_total`, { result: 'ACCEPT' })).toBe(1);
    expect(valueOf(exposition, `${P}claims_total`, { result: 'ABORT' })).toBe(1);
    expect(valueOf(exposition, `${P}set_state_duration_seconds_count`)).toBe(3);

    // A NATS worker's claim with a message the run never had: refused, and counted with the HTTP claims.
    const poolId = (await gw.get('/work_pools/metrics-pool')).body.id;
    const nc = await connect({ servers: gw.config.nats.url });
    try {
      const request = { flow_run_id: ids[1], publication: `${ids[1]}:${randomUUID()}:1`, transition_id: randomUUID() };
      const reply = await nc.request(natsNames(gw.config.nats.namespace).claim(poolId), JSON.stringify(request), {
        timeout: 10_000,
      });
      expect(reply.json<{ status: string }>().status).toBe('ABORT');
    } finally {
      await nc.close();
    }
    const withNats = parseExposition((await scrapeGateway(gw)).body);
    expect(valueOf(withNats, `${P}claims_total`, { result: 'ABORT' })).toBe(2);
    expect(valueOf(withNats, `${P}set_state_duration_seconds_count`)).toBe(4);

    // An unknown pool is a 404 and an error outcome.
    expect((await gw.post('/work_pools/missing/get_scheduled_flow_runs', {})).status).toBe(404);
    const after = parseExposition((await scrapeGateway(gw)).body);
    expect(valueOf(after, `${P}poll_duration_seconds_count`, { outcome: 'error' })).toBe(1);
  });

  it('the scheduler counts publications, dispatch latency, loop passes and wake-ups', async () => {
    const exposition = await until(
      scrapeScheduler,
      (e) => (valueOf(e, `${P}dispatcher_published_runs_total`) ?? 0) >= 3,
    );
    expect(valueOf(exposition, `${P}dispatch_latency_seconds_count`)).toBeGreaterThanOrEqual(3);
    // Runs created due now go out on the change notice, well within a second.
    expect(valueOf(exposition, `${P}dispatch_latency_seconds_bucket`, { le: '1' })).toBeGreaterThanOrEqual(3);
    expect(valueOf(exposition, `${P}dispatcher_wakeups_total`)).toBeGreaterThanOrEqual(1);
    expect(valueOf(exposition, `${P}dispatcher_loop_duration_seconds_count`)).toBeGreaterThanOrEqual(1);
    for (const loop of [
      'dispatcher',
      'reconciler',
      'foreman',
      'late_runs',
      'recent_deployments_scheduler',
      'metrics_sampler',
    ]) {
      expect([loop, valueOf(exposition, `${P}loop_duration_seconds_count`, { loop })]).toEqual([
        loop,
        expect.any(Number),
      ]);
    }
  });

  it('samples per pool and queue: runs on the bus, the oldest due run and runs past their start, by name', async () => {
    await gw.post('/work_pools/', { name: 'backlog', type: 'process' });
    await gw.post('/work_pools/backlog/queues/', { name: 'slow' });
    const started = new Date(Date.now() - 60_000).toISOString();
    for (const queue of ['default', 'slow', 'slow']) {
      await gw.post('/flow_runs/', {
        flow_id: flowId,
        work_pool_name: 'backlog',
        work_queue_name: queue,
        state: { type: 'SCHEDULED', state_details: { scheduled_time: started } },
      });
    }
    const exposition = await until(
      scrapeScheduler,
      (e) =>
        valueOf(e, `${P}late_scheduled_runs`, { pool: 'backlog', queue: 'slow' }) === 2 &&
        valueOf(e, `${P}bus_pending_runs`, { pool: 'backlog', queue: 'slow' }) === 2,
    );
    expect(valueOf(exposition, `${P}late_scheduled_runs`, { pool: 'backlog', queue: 'default' })).toBe(1);
    expect(
      valueOf(exposition, `${P}oldest_due_run_age_seconds`, { pool: 'backlog', queue: 'slow' }),
    ).toBeGreaterThanOrEqual(59);
    // A minute past their start: the late-runs service marks them Late (still SCHEDULED, still counted).
    await until(scrapeScheduler, (e) => (valueOf(e, `${P}late_runs_marked_total`) ?? 0) >= 3);

    // Claimed, a queue is no longer behind and its series go away at the next sample.
    const offers = (await gw.post('/work_pools/backlog/get_scheduled_flow_runs', {})).body as {
      flow_run: { id: string };
    }[];
    expect(offers).toHaveLength(3);
    for (const offer of offers) {
      await gw.post(`/flow_runs/${offer.flow_run.id}/set_state`, { state: { type: 'PENDING' } });
    }
    await until(
      scrapeScheduler,
      (e) => valueOf(e, `${P}late_scheduled_runs`, { pool: 'backlog', queue: 'slow' }) === undefined,
    );
  });

  it('counts runs created from schedules and workers marked offline', async () => {
    await gw.post('/work_pools/', { name: 'scheduled', type: 'process' });
    await gw.post('/deployments/', {
      name: 'every-hour',
      flow_id: flowId,
      work_pool_name: 'scheduled',
      schedules: [{ schedule: { interval: 3600 }, active: true }],
    });
    await gw.post('/work_pools/scheduled/workers/heartbeat', { name: 'w', heartbeat_interval_seconds: 1 });
    const exposition = await until(
      scrapeScheduler,
      (e) =>
        (valueOf(e, `${P}scheduler_runs_created_total`) ?? 0) >= 3 &&
        (valueOf(e, `${P}workers_marked_offline_total`) ?? 0) >= 1,
    );
    expect(valueOf(exposition, `${P}scheduler_runs_created_total`)).toBeGreaterThanOrEqual(3);
  });

  it('follows the naming conventions, with bounded label sets and no run ids', async () => {
    const uuid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;
    const pools = new Set(['metrics-pool', 'backlog', 'scheduled']);
    for (const exposition of [parseExposition((await scrapeGateway(gw)).body), await scrapeScheduler()]) {
      const ours = [...exposition.types].filter(([name]) => name.startsWith(P));
      expect(ours.length).toBeGreaterThan(5);
      for (const [name, type] of ours) {
        if (type === 'counter') expect(name).toMatch(/_total$/);
        else expect(name).not.toMatch(/_total$/);
        if (type === 'histogram') expect(name).toMatch(/_seconds$/);
        // Base units only.
        expect(name).not.toMatch(/_(milliseconds|ms|minutes|kilobytes|megabytes)(_|$)/);
      }
      const series = new Map<string, number>();
      for (const sample of exposition.samples.filter((s) => s.name.startsWith(P))) {
        expect(
          Object.keys(sample.labels).every((key) => ['outcome', 'result', 'loop', 'pool', 'queue', 'le'].includes(key)),
        ).toBe(true);
        expect(Object.values(sample.labels).join(' ')).not.toMatch(uuid);
        if (sample.labels.pool !== undefined) expect(pools.has(sample.labels.pool)).toBe(true);
        if (sample.labels.result !== undefined) {
          expect(['ACCEPT', 'REJECT', 'ABORT', 'WAIT']).toContain(sample.labels.result);
        }
        if (sample.labels.outcome !== undefined) expect(['runs', 'empty', 'error']).toContain(sample.labels.outcome);
        const family = sample.name.replace(/_(bucket|sum|count)$/, '');
        series.set(family, (series.get(family) ?? 0) + 1);
      }
      // Bounded: the largest family is a histogram by loop (7 loops × 17 bucket/sum/count lines).
      expect(Math.max(...series.values())).toBeLessThanOrEqual(7 * 18);
    }
  });

  it('with API_AUTH_STRING set, /metrics needs the credentials and /api/ready does not', async () => {
    const guarded = await TestGateway.start({ API_AUTH_STRING: 'admin:secret' });
    try {
      expect((await scrapeGateway(guarded)).statusCode).toBe(401);
      const authorization = `Basic ${Buffer.from('admin:secret').toString('base64')}`;
      expect((await scrapeGateway(guarded, { authorization })).statusCode).toBe(200);
      expect((await guarded.get('/ready')).status).toBe(200);
    } finally {
      await guarded.stop();
    }
  });
});

/** `/metrics` with 1,000 pools each behind (no scheduler running: nothing is dispatched, only measured). */
describe('metrics with 1,000 pools', () => {
  let gw: TestGateway;
  let flowId: string;

  beforeAll(async () => {
    gw = await TestGateway.start();
    flowId = (await gw.post('/flows/', { name: 'bulk' })).body.id;
  });
  afterAll(() => gw.stop());

  it('one sample query and a scrape stay small and fast (no query per pool at scrape)', async () => {
    const sql = await Sql.connect(gw.config.db.url);
    try {
      await sql.query(
        `INSERT INTO work_pool (name, type) SELECT 'bulk-' || g, 'process' FROM generate_series(1, 1000) g`,
      );
      await sql.query(
        `INSERT INTO work_queue (work_pool_id, name, priority) SELECT id, 'default', 1 FROM work_pool WHERE name LIKE 'bulk-%'`,
      );
      await sql.query(
        `INSERT INTO flow_run (name, flow_id, work_queue_id, work_queue_name, state_type, state_name, next_scheduled_start_time)
         SELECT 'late-' || wq.id, $1, wq.id, 'default', 'SCHEDULED', 'Late', now() - interval '5 minutes'
           FROM work_queue wq JOIN work_pool wp ON wp.id = wq.work_pool_id WHERE wp.name LIKE 'bulk-%'`,
        [flowId],
      );
    } finally {
      await sql.end();
    }
    // The scheduler's gauges on a registry of their own, so the numbers are those of 1,000 pools alone.
    const registry = new MetricsRegistry(gw.db, gw.app.get(NatsClient));
    const metrics = new SchedulerMetrics(registry);
    const sampleStarted = performance.now();
    const now = new Date();
    const queues = await gw.db.repos.delivery.backlogPerQueue(now);
    metrics.backlogSampled(queues, await gw.db.repos.delivery.outstandingLeases(now), now);
    const sampleMs = performance.now() - sampleStarted;
    expect(queues.filter((queue) => queue.pool_name.startsWith('bulk-'))).toHaveLength(1000);

    const scrapes: number[] = [];
    let text = '';
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      text = await registry.exposition();
      scrapes.push(performance.now() - started);
    }
    scrapes.sort((a, b) => a - b);
    const exposition = parseExposition(text);
    expect(valueOf(exposition, `${P}late_scheduled_runs`, { pool: 'bulk-1000', queue: 'default' })).toBe(1);
    expect(exposition.samples.filter((sample) => sample.name === `${P}oldest_due_run_age_seconds`).length).toBe(
      queues.length,
    );
    // Generous for a loaded 2-core machine; the measured numbers are printed.
    expect(scrapes[10]).toBeLessThan(250);
    const gatewayStarted = performance.now();
    const gatewayScrape = await scrapeGateway(gw);
    const gatewayMs = performance.now() - gatewayStarted;
    console.log(
      `1,000 pools: sample query + set ${sampleMs.toFixed(1)} ms; scheduler scrape p50 ${scrapes[10].toFixed(1)} ms, ` +
        `max ${scrapes[19].toFixed(1)} ms, ${(text.length / 1024).toFixed(1)} KiB, ${exposition.samples.length} samples; ` +
        `gateway scrape ${gatewayMs.toFixed(1)} ms, ${(gatewayScrape.body.length / 1024).toFixed(1)} KiB`,
    );
  });
});
