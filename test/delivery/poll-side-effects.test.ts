import type { PrefectEvent } from '@app/contracts';
import { connect, NatsConnection, Subscription } from '@nats-io/transport-node';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { TestGateway } from '../support/gateway';
import { expectOperation } from '../support/openapi';
import { TestScheduler } from '../support/scheduler';

/**
 * What a poll of `POST /work_pools/{name}/get_scheduled_flow_runs` leaves behind (reference section 3; Prefect's
 * TestGetScheduledRuns cases 9-13 and test_workers_duplicate_requests_queue_single_task): `last_polled` on every
 * polled queue, NOT_READY queues → READY (PAUSED untouched), deployments on those queues → READY, and an event
 * on NATS for each actual transition. Written off the response path, coalesced per pool (contract I8).
 */

jest.setTimeout(30_000);

const POLL = '/work_pools/{name}/get_scheduled_flow_runs';
/** Past the per-pool flush interval (1 s): a write or event that was going to happen has happened by then. */
const SETTLE_MS = 1500;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function eventually<T>(
  probe: () => Promise<T | undefined | null | false>,
  what: string,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** Every event published under the namespace, as a raw NATS subscriber sees it. */
class EventLog {
  readonly received: { subject: string; event: PrefectEvent }[] = [];
  private readonly subscription: Subscription;

  constructor(nc: NatsConnection, namespace: string) {
    this.subscription = nc.subscribe(`${namespace}.events.>`, {
      callback: (error, message) => {
        if (!error) this.received.push({ subject: message.subject, event: message.json<PrefectEvent>() });
      },
    });
  }

  /** Events named `name` about `resourceId`. */
  about(name: string, resourceId: string): PrefectEvent[] {
    return this.received
      .filter(({ event }) => event.event === name && event.resource['prefect.resource.id'] === resourceId)
      .map(({ event }) => event);
  }

  /** Poll-made events (queue or deployment turned READY) naming any of these resource ids. */
  readyEventsFor(resourceIds: string[]): PrefectEvent[] {
    return this.received
      .map(({ event }) => event)
      .filter(
        (event) =>
          ['prefect.work-queue.ready', 'prefect.deployment.ready'].includes(event.event) &&
          resourceIds.includes(event.resource['prefect.resource.id']),
      );
  }

  close(): void {
    this.subscription.unsubscribe();
  }
}

interface QueueView {
  id: string;
  name: string;
  status: string;
  is_paused: boolean;
  last_polled: string | null;
}

describe('poll side effects', () => {
  let gw: TestGateway;
  let scheduler: TestScheduler;
  let nc: NatsConnection;
  let events: EventLog;
  let flow: { id: string; name: string };

  beforeAll(async () => {
    // Prefect runs these cases without its background services; the foreman would move statuses back.
    gw = await TestGateway.start({ FOREMAN_ENABLED: 'false', LATE_RUNS_ENABLED: 'false' });
    scheduler = await TestScheduler.start(gw.config);
    nc = await connect({ servers: gw.config.nats.url });
    events = new EventLog(nc, gw.config.nats.namespace);
    await nc.flush();
    flow = (await gw.post('/flows/', { name: `my-flow-${randomUUID()}` })).body;
  });
  afterAll(async () => {
    events.close();
    await nc.close();
    await scheduler.stop();
    await gw.stop();
  });

  afterEach(() => {
    // Every event of the run went to `<namespace>.events.<event name>`.
    for (const { subject, event } of events.received) {
      expect(subject).toBe(`${gw.config.nats.namespace}.events.${event.event}`);
    }
  });

  let poolSerial = 0;

  /** Prefect's pool A for one case: type `process`, queues AA, AB, AC after its default queue. */
  async function poolA(options: { paused?: string[] } = {}) {
    const name = `A-${++poolSerial}`;
    const created = await gw.post('/work_pools/', { name, type: 'process' });
    expect(created.status).toBe(201);
    for (const queue of ['AA', 'AB', 'AC']) {
      const response = await gw.post(`/work_pools/${name}/queues`, {
        name: queue,
        ...(options.paused?.includes(queue) && { is_paused: true }),
      });
      expect(response.status).toBe(201);
    }
    const pool = { name, id: created.body.id as string, type: created.body.type as string };
    const ids = Object.fromEntries((await queues(name)).map((queue) => [queue.name, queue.id]));
    return { ...pool, queueIds: ids, queueResource: (queue: string) => `prefect.work-queue.${ids[queue]}` };
  }

  async function queues(pool: string): Promise<QueueView[]> {
    const response = await gw.post(`/work_pools/${pool}/queues/filter`);
    expectOperation(response, 'POST', '/work_pools/{work_pool_name}/queues/filter', 200);
    return response.body;
  }

  async function queueMap(pool: string): Promise<Record<string, QueueView>> {
    return Object.fromEntries((await queues(pool)).map((queue) => [queue.name, queue]));
  }

  async function poll(pool: string, body?: unknown) {
    const response = await gw.post(`/work_pools/${pool}/get_scheduled_flow_runs`, body);
    expectOperation(response, 'POST', POLL, 200);
    return response.body;
  }

  /** Prefect's "My Deployment" (tags ["test"]) on a queue; named per pool, as a deployment name is unique per flow. */
  async function deployment(pool: string, queue: string, name = `My Deployment ${pool}`) {
    const response = await gw.post('/deployments/', {
      name,
      flow_id: flow.id,
      tags: ['test'],
      work_pool_name: pool,
      work_queue_name: queue,
    });
    expect(response.status).toBe(201);
    return response.body as { id: string; name: string };
  }

  async function readDeployment(id: string) {
    const response = await gw.get(`/deployments/${id}`);
    expectOperation(response, 'GET', '/deployments/{id}', 200);
    return response.body as { status: string; last_polled: string | null; updated: string };
  }

  const polledSince = (since: Date) => (queue: QueueView) =>
    queue.last_polled !== null && new Date(queue.last_polled) >= since;

  it('test_updates_last_polled_on_a_single_work_queue: only AA gets last_polled', async () => {
    const pool = await poolA();
    const requested = new Date();
    await poll(pool.name, { work_queue_names: ['AA'] });
    const read = await gw.get(`/work_pools/${pool.name}/queues/AA`);
    expectOperation(read, 'GET', '/work_pools/{work_pool_name}/queues/{name}', 200);
    await eventually(async () => polledSince(requested)((await queueMap(pool.name)).AA), 'AA last_polled');
    await sleep(SETTLE_MS);
    const after = await queueMap(pool.name);
    expect([after.AB, after.AC, after.default].map((queue) => queue.last_polled)).toEqual([null, null, null]);
  });

  it('test_updates_last_polled_on_a_multiple_work_queues: AA and AB, not AC nor default', async () => {
    const pool = await poolA();
    const requested = new Date();
    await poll(pool.name, { work_queue_names: ['AA', 'AB'] });
    await eventually(async () => {
      const now = await queueMap(pool.name);
      return polledSince(requested)(now.AA) && polledSince(requested)(now.AB);
    }, 'AA and AB last_polled');
    await sleep(SETTLE_MS);
    const after = await queueMap(pool.name);
    expect([after.AC.last_polled, after.default.last_polled]).toEqual([null, null]);
  });

  it('test_updates_last_polled_on_a_full_work_pool: every queue, default included, whatever its status', async () => {
    const pool = await poolA();
    // Prefect sets these statuses through its model layer; the API cannot set a status alone.
    await gw.db.repos.workQueues.updateById(pool.queueIds.AB, { status: 'PAUSED' });
    await gw.db.repos.workQueues.updateById(pool.queueIds.AC, { status: 'READY' });
    const requested = new Date();
    await poll(pool.name);
    await eventually(async () => (await queues(pool.name)).every(polledSince(requested)), 'all queues polled');
    expect((await queues(pool.name)).map((queue) => queue.name).sort()).toEqual(['AA', 'AB', 'AC', 'default']);
  });

  it('test_updates_statuses_on_a_full_work_pool: NOT_READY → READY, PAUSED and READY stay, deployments → READY; events only for transitions', async () => {
    const pool = await poolA();
    await gw.db.repos.workQueues.updateById(pool.queueIds.AB, { status: 'PAUSED' });
    await gw.db.repos.workQueues.updateById(pool.queueIds.AC, { status: 'READY' });
    // Prefect's case creates all three as "My Deployment" of one flow, which its upsert folds into one
    // deployment; distinct names keep three.
    const deployments = [];
    for (const queue of ['AA', 'AB', 'AC']) {
      deployments.push(await deployment(pool.name, queue, `My Deployment ${pool.name} ${queue}`));
    }
    for (const created of deployments) expect((await readDeployment(created.id)).status).toBe('NOT_READY');

    await poll(pool.name);
    const statuses = await eventually(async () => {
      const now = await queueMap(pool.name);
      return now.AA.status === 'READY' && now.default.status === 'READY' && now;
    }, 'AA READY');
    expect([statuses.AB.status, statuses.AC.status]).toEqual(['PAUSED', 'READY']);
    for (const created of deployments) {
      await eventually(
        async () => (await readDeployment(created.id)).status === 'READY',
        `deployment ${created.name} READY`,
      );
    }

    await sleep(SETTLE_MS);
    const resourceIds = [
      ...Object.keys(pool.queueIds).map(pool.queueResource),
      ...deployments.map((d) => `prefect.deployment.${d.id}`),
    ];
    const made = events.readyEventsFor(resourceIds);
    expect(
      made
        .filter((e) => e.event === 'prefect.work-queue.ready')
        .map((e) => e.resource['prefect.resource.name'])
        .sort(),
    ).toEqual(['AA', 'default']);
    expect(
      made
        .filter((e) => e.event === 'prefect.deployment.ready')
        .map((e) => e.resource['prefect.resource.id'])
        .sort(),
    ).toEqual(deployments.map((d) => `prefect.deployment.${d.id}`).sort());
  });

  it("test_ensure_deployments_associated_with_work_pool_have_deployment_status_of_ready, with Prefect's event and `updated` untouched", async () => {
    const pool = await poolA();
    const created = await deployment(pool.name, 'AA');
    const before = await readDeployment(created.id);
    expect(before).toMatchObject({ status: 'NOT_READY', last_polled: null });

    await poll(pool.name);
    const after = await eventually(async () => {
      const read = await readDeployment(created.id);
      return read.status === 'READY' && read;
    }, 'deployment READY');
    expect(after.last_polled).not.toBeNull();
    // Prefect keeps `updated` so that the scheduler's "recently updated deployments" pass is not re-triggered.
    expect(after.updated).toBe(before.updated);

    const [event] = await eventually(async () => {
      const found = events.about('prefect.deployment.ready', `prefect.deployment.${created.id}`);
      return found.length > 0 && found;
    }, 'prefect.deployment.ready');
    expect(event).toMatchObject({
      event: 'prefect.deployment.ready',
      occurred: after.last_polled,
      resource: { 'prefect.resource.id': `prefect.deployment.${created.id}`, 'prefect.resource.name': created.name },
      related: [
        {
          'prefect.resource.id': `prefect.flow.${flow.id}`,
          'prefect.resource.name': flow.name,
          'prefect.resource.role': 'flow',
        },
        {
          'prefect.resource.id': pool.queueResource('AA'),
          'prefect.resource.name': 'AA',
          'prefect.resource.role': 'work-queue',
        },
        {
          'prefect.resource.id': `prefect.work-pool.${pool.id}`,
          'prefect.resource.name': pool.name,
          'prefect.work-pool.type': 'process',
          'prefect.resource.role': 'work-pool',
        },
      ],
    });
    expect(event.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it("does not wait for a poll that holds the queue's and deployment's rows as a run's references (no deadlock)", async () => {
    const pool = await poolA();
    const created = await deployment(pool.name, 'AA');
    const run = await gw.post(`/deployments/${created.id}/create_flow_run`, {
      state: { type: 'SCHEDULED', state_details: { scheduled_time: new Date(Date.now() + 86_400_000).toISOString() } },
    });
    expect(run.status).toBe(201);
    // A poll updates the runs it hands out twice in its transaction (the lease recorded, then its length); the
    // second update of a row the transaction already changed re-checks the run's foreign keys, which holds the
    // queue's and the deployment's rows FOR KEY SHARE until the poll commits. Recording polls locked those rows
    // FOR UPDATE, which waits for that: two polls' transactions deadlocked so (one poll answered 503).
    const poller = new Client({ connectionString: gw.config.db.url });
    await poller.connect();
    try {
      await poller.query('BEGIN');
      for (let i = 0; i < 2; i++) {
        await poller.query(`UPDATE flow_run SET leased_until = now() + interval '1 minute' WHERE id = $1`, [
          run.body.id,
        ]);
      }
      const since = new Date();
      await poll(pool.name, { work_queue_names: ['AA'] });
      await eventually(async () => polledSince(since)((await queueMap(pool.name)).AA), 'AA recorded as polled');
      await eventually(async () => (await readDeployment(created.id)).status === 'READY', 'the deployment READY');
    } finally {
      await poller.query('ROLLBACK');
      await poller.end();
    }
  });

  it("emits prefect.work-queue.ready with Prefect's resource and related pool", async () => {
    const pool = await poolA();
    await poll(pool.name, { work_queue_names: ['AB'] });
    const [event] = await eventually(async () => {
      const found = events.about('prefect.work-queue.ready', pool.queueResource('AB'));
      return found.length > 0 && found;
    }, 'prefect.work-queue.ready');
    expect(event).toMatchObject({
      event: 'prefect.work-queue.ready',
      resource: {
        'prefect.resource.id': pool.queueResource('AB'),
        'prefect.resource.name': 'AB',
        'prefect.resource.role': 'work-queue',
      },
      related: [
        {
          'prefect.resource.id': `prefect.work-pool.${pool.id}`,
          'prefect.resource.name': pool.name,
          'prefect.work-pool.type': 'process',
          'prefect.resource.role': 'work-pool',
        },
      ],
      payload: {},
    });
    expect(Number.isNaN(Date.parse(event.occurred))).toBe(false);
  });

  it('test_workers_duplicate_requests_queue_single_task: three identical polls → one transition each, one event each', async () => {
    const pool = await poolA();
    const created = await deployment(pool.name, 'default');
    await Promise.all([poll(pool.name, {}), poll(pool.name, {}), poll(pool.name, {})]);
    await eventually(async () => (await readDeployment(created.id)).status === 'READY', 'deployment READY');
    await sleep(SETTLE_MS);
    const made = events.readyEventsFor([
      ...Object.keys(pool.queueIds).map(pool.queueResource),
      `prefect.deployment.${created.id}`,
    ]);
    expect(
      made
        .filter((e) => e.event === 'prefect.work-queue.ready')
        .map((e) => e.resource['prefect.resource.name'])
        .sort(),
    ).toEqual(['AA', 'AB', 'AC', 'default']);
    expect(made.filter((e) => e.event === 'prefect.deployment.ready')).toHaveLength(1);
  });

  it('I8: however often a pool is polled, its bookkeeping is written about once a second at most', async () => {
    const pool = await poolA();
    const seen: number[] = [];
    const until = Date.now() + 3200;
    while (Date.now() < until) {
      await poll(pool.name, { work_queue_names: ['AA'] });
      const lastPolled = (await queueMap(pool.name)).AA.last_polled;
      if (lastPolled && !seen.includes(Date.parse(lastPolled))) seen.push(Date.parse(lastPolled));
      await sleep(20);
    }
    // Polled every ~30 ms for 3 s: written more than once (polls keep counting), never twice within ~1 s.
    expect(seen.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < seen.length; i++) expect(seen[i] - seen[i - 1]).toBeGreaterThanOrEqual(900);
  });

  it('only actual transitions emit events: a second poll moves last_polled but emits nothing', async () => {
    const pool = await poolA();
    const created = await deployment(pool.name, 'AA');
    const resourceIds = [...Object.keys(pool.queueIds).map(pool.queueResource), `prefect.deployment.${created.id}`];
    await poll(pool.name);
    await eventually(
      async () => events.readyEventsFor(resourceIds).length === 5,
      'first transitions (4 queues, 1 deployment)',
    );
    const first = (await queueMap(pool.name)).AA.last_polled as string;
    await sleep(SETTLE_MS);
    await poll(pool.name);
    await eventually(async () => (await queueMap(pool.name)).AA.last_polled !== first, 'second last_polled');
    await sleep(SETTLE_MS);
    expect(events.readyEventsFor(resourceIds)).toHaveLength(5);
    expect((await readDeployment(created.id)).last_polled).not.toBeNull();
  });

  it('a paused queue (PAUSED) keeps its status, gets last_polled, emits nothing; its deployments still turn READY', async () => {
    const pool = await poolA();
    const created = await deployment(pool.name, 'AA');
    expect((await gw.patch(`/work_pools/${pool.name}/queues/AA`, { is_paused: true })).status).toBe(204);
    expect((await queueMap(pool.name)).AA.status).toBe('PAUSED');
    const requested = new Date();
    expect(await poll(pool.name, { work_queue_names: ['AA'] })).toEqual([]);
    await eventually(async () => polledSince(requested)((await queueMap(pool.name)).AA), 'AA last_polled');
    await eventually(async () => (await readDeployment(created.id)).status === 'READY', 'deployment READY');
    await sleep(SETTLE_MS);
    expect((await queueMap(pool.name)).AA.status).toBe('PAUSED');
    expect(events.about('prefect.work-queue.ready', pool.queueResource('AA'))).toEqual([]);
  });

  it('a queue created paused is NOT_READY, and a poll makes it READY while it stays paused (reference 1.6)', async () => {
    const pool = await poolA({ paused: ['AB'] });
    expect((await queueMap(pool.name)).AB).toMatchObject({ is_paused: true, status: 'NOT_READY' });
    await poll(pool.name, { work_queue_names: ['AB'] });
    await eventually(async () => (await queueMap(pool.name)).AB.status === 'READY', 'AB READY');
    expect((await queueMap(pool.name)).AB.is_paused).toBe(true);
  });

  it('a paused pool answers [] and its queues and deployments still get the side effects; the pool status stays', async () => {
    const pool = await poolA();
    const created = await deployment(pool.name, 'AC');
    expect((await gw.patch(`/work_pools/${pool.name}`, { is_paused: true })).status).toBe(204);
    const poolBefore = await gw.get(`/work_pools/${pool.name}`);
    expectOperation(poolBefore, 'GET', '/work_pools/{name}', 200);
    const requested = new Date();
    expect(await poll(pool.name)).toEqual([]);
    await eventually(
      async () => (await queues(pool.name)).every((queue) => polledSince(requested)(queue) && queue.status === 'READY'),
      'queues READY',
    );
    await eventually(async () => (await readDeployment(created.id)).status === 'READY', 'deployment READY');
    await eventually(
      async () => events.about('prefect.work-queue.ready', pool.queueResource('AC')).length === 1,
      'AC ready event',
    );
    expect((await gw.get(`/work_pools/${pool.name}`)).body.status).toBe(poolBefore.body.status);
  });

  it('a poll never changes the pool status nor emits a pool event', async () => {
    const pool = await poolA();
    const before = (await gw.get(`/work_pools/${pool.name}`)).body.status;
    const mark = events.received.length;
    await poll(pool.name);
    await eventually(async () => (await queueMap(pool.name)).default.status === 'READY', 'default READY');
    await sleep(SETTLE_MS);
    expect((await gw.get(`/work_pools/${pool.name}`)).body.status).toBe(before);
    expect(
      events.received
        .slice(mark)
        .filter(({ event }) => event.resource['prefect.resource.id'] === `prefect.work-pool.${pool.id}`),
    ).toEqual([]);
  });

  it.each([
    ['an unknown queue (404)', { work_queue_names: ['AA', 'nope'] }, 404],
    ['a limit above 200 (422)', { limit: 201 }, 422],
    ['a malformed body (422)', { scheduled_before: 'soon' }, 422],
  ])('%s leaves no side effects', async (_, body, status) => {
    const pool = await poolA();
    const created = await deployment(pool.name, 'AA');
    expect((await gw.post(`/work_pools/${pool.name}/get_scheduled_flow_runs`, body)).status).toBe(status);
    await sleep(SETTLE_MS);
    expect((await queues(pool.name)).map((queue) => [queue.name, queue.status, queue.last_polled])).toEqual(
      expect.arrayContaining([
        ['AA', 'NOT_READY', null],
        ['default', 'NOT_READY', null],
      ]),
    );
    expect(await readDeployment(created.id)).toMatchObject({ status: 'NOT_READY', last_polled: null });
    expect(
      events.readyEventsFor([
        ...Object.keys(pool.queueIds).map(pool.queueResource),
        `prefect.deployment.${created.id}`,
      ]),
    ).toEqual([]);
  });
});
