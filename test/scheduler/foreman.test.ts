import { formatDateTime } from '@app/contracts';
import { ForemanService } from '../../apps/scheduler/src/foreman/foreman.service';
import { TestGateway } from '../support/gateway';
import { TestScheduler } from '../support/scheduler';
import { eventually, EventLog, sql } from './helpers';

const SECOND = 1000;

/** Prefect's foreman: workers OFFLINE, then pools, deployments and queues NOT_READY, each transition once. */
describe('foreman', () => {
  let gw: TestGateway;
  let log: EventLog;
  let scheduler: TestScheduler;
  let foreman: ForemanService;
  let flowId: string;
  let serial = 0;

  beforeAll(async () => {
    // The loops stay off: each test runs passes itself, at the instant it names.
    gw = await TestGateway.start({ FOREMAN_ENABLED: 'false', LATE_RUNS_ENABLED: 'false' });
    log = await EventLog.subscribe(gw);
    scheduler = await TestScheduler.start(gw.config);
    foreman = scheduler.app.get(ForemanService);
    flowId = (await gw.post('/flows/', { name: 'foreman' })).body.id;
  });
  afterAll(async () => {
    expect(log.misrouted).toEqual([]);
    await scheduler.stop();
    await log.close();
    await gw.stop();
  });

  async function newPool(
    body: Record<string, unknown> = {},
  ): Promise<{ id: string; name: string; default_queue_id: string }> {
    const created = await gw.post('/work_pools/', { name: `pool-${++serial}`, type: 'process', ...body });
    expect(created.status).toBe(201);
    return created.body;
  }

  const heartbeat = (pool: string, name: string, heartbeat_interval_seconds?: number) =>
    gw.post(`/work_pools/${pool}/workers/heartbeat`, { name, heartbeat_interval_seconds });

  const workers = async (pool: string) =>
    Object.fromEntries(
      ((await gw.post(`/work_pools/${pool}/workers/filter`, {})).body as { name: string; status: string }[]).map(
        (w) => [w.name, w.status],
      ),
    );

  const poolRow = async (id: string) =>
    (
      await sql<{ status: string; last_status_event_id: string; last_transitioned_status_at: Date; updated: Date }>(
        gw,
        'SELECT * FROM work_pool WHERE id = $1',
        [id],
      )
    )[0];

  /** Heartbeat times as the database wrote them (the clock the foreman compares against). */
  const lastHeartbeat = async (pool: string, name: string) =>
    (
      await sql<{ t: Date }>(
        gw,
        'SELECT w.last_heartbeat_time AS t FROM worker w JOIN work_pool p ON p.id = w.work_pool_id WHERE p.name = $1 AND w.name = $2',
        [pool, name],
      )
    )[0].t.getTime();

  const after = (from: number, seconds: number) => new Date(from + seconds * SECOND);

  describe('workers', () => {
    it('go OFFLINE after 3 heartbeat intervals of silence: their own interval, else 30 s; no event', async () => {
      const pool = await newPool();
      await heartbeat(pool.name, 'fallback');
      await heartbeat(pool.name, 'ten', 10);
      const fallbackAt = await lastHeartbeat(pool.name, 'fallback');
      const tenAt = await lastHeartbeat(pool.name, 'ten');
      const eventsBefore = log.about(pool.id).length;

      await foreman.runOnce(after(tenAt, 29.9));
      expect(await workers(pool.name)).toEqual({ fallback: 'ONLINE', ten: 'ONLINE' });
      await foreman.runOnce(after(tenAt, 30.1));
      expect(await workers(pool.name)).toEqual({ fallback: 'ONLINE', ten: 'OFFLINE' });
      await foreman.runOnce(after(fallbackAt, 89.9));
      expect(await workers(pool.name)).toEqual({ fallback: 'ONLINE', ten: 'OFFLINE' });
      await foreman.runOnce(after(fallbackAt, 90.1));
      expect(await workers(pool.name)).toEqual({ fallback: 'OFFLINE', ten: 'OFFLINE' });

      await log.settle(gw.app, scheduler.app);
      // The pool's own NOT_READY is the only event: Prefect emits none for workers.
      expect(log.events.filter((event) => event.event.startsWith('prefect.worker'))).toEqual([]);
      expect(log.namesAbout(pool.id).slice(eventsBefore)).toEqual(['prefect.work-pool.not-ready']);
    });

    it('a heartbeat brings an OFFLINE worker back ONLINE', async () => {
      const pool = await newPool();
      await heartbeat(pool.name, 'w', 1);
      await foreman.runOnce(after(await lastHeartbeat(pool.name, 'w'), 4));
      expect(await workers(pool.name)).toEqual({ w: 'OFFLINE' });
      await heartbeat(pool.name, 'w');
      expect(await workers(pool.name)).toEqual({ w: 'ONLINE' });
    });
  });

  describe('work pools', () => {
    it('a READY pool whose last ONLINE worker went OFFLINE becomes NOT_READY, stamped, its event following READY', async () => {
      const pool = await newPool();
      await heartbeat(pool.name, 'w', 5);
      const ready = await eventually('READY', async () =>
        (await poolRow(pool.id)).status === 'READY' ? poolRow(pool.id) : null,
      );
      const now = after(await lastHeartbeat(pool.name, 'w'), 16);

      const pass = await foreman.runOnce(now);
      expect(pass.workersOffline).toBeGreaterThanOrEqual(1);
      expect(pass.poolsNotReady).toBeGreaterThanOrEqual(1);
      const row = await poolRow(pool.id);
      expect(row.status).toBe('NOT_READY');
      expect(row.last_transitioned_status_at.getTime()).toBe(now.getTime());
      expect(row.last_status_event_id).not.toBe(ready.last_status_event_id);
      expect((await gw.get(`/work_pools/${pool.name}`)).body.status).toBe('NOT_READY');

      await eventually('the NOT_READY event', () => log.about(pool.id).length === 3);
      expect(log.about(pool.id)[2]).toEqual({
        id: row.last_status_event_id,
        occurred: formatDateTime(now),
        event: 'prefect.work-pool.not-ready',
        resource: {
          'prefect.resource.id': `prefect.work-pool.${pool.id}`,
          'prefect.resource.name': pool.name,
          'prefect.work-pool.type': 'process',
        },
        related: [],
        payload: {},
        follows: ready.last_status_event_id,
      });
    });

    it('leaves pools with an ONLINE worker, and NOT_READY and PAUSED pools, alone', async () => {
      const online = await newPool();
      await heartbeat(online.name, 'w');
      const paused = await newPool({ is_paused: true });
      const idle = await newPool();
      const rowsBefore = await Promise.all([online, paused, idle].map((pool) => poolRow(pool.id)));
      const pass = await foreman.runOnce(after(await lastHeartbeat(online.name, 'w'), 60));
      expect(pass.poolsNotReady).toBe(0);
      const rowsAfter = await Promise.all([online, paused, idle].map((pool) => poolRow(pool.id)));
      expect(rowsAfter.map((row) => row.status)).toEqual(['READY', 'PAUSED', 'NOT_READY']);
      expect(rowsAfter).toEqual(rowsBefore);
    });
  });

  describe('deployments', () => {
    /** A READY deployment with the given poll times (seconds ago; null: never), on its queue or none. */
    async function deploymentPolled(
      deploymentAgo: number | null,
      queueAgo: number | null,
      onQueue = true,
    ): Promise<string> {
      const pool = await newPool();
      const deployment = (
        await gw.post('/deployments/', { name: `d-${serial}`, flow_id: flowId, work_pool_name: pool.name })
      ).body;
      const at = (ago: number | null) => (ago === null ? null : new Date(Date.now() - ago * SECOND));
      await sql(
        gw,
        `UPDATE deployment SET status = 'READY', last_polled = $2, work_queue_id = CASE WHEN $3 THEN work_queue_id END WHERE id = $1`,
        [deployment.id, at(deploymentAgo), onQueue],
      );
      await sql(gw, 'UPDATE work_queue SET last_polled = $2 WHERE id = $1', [deployment.work_queue_id, at(queueAgo)]);
      return deployment.id;
    }

    const statusOf = async (id: string) => (await gw.get(`/deployments/${id}`)).body.status;

    it.each([
      ['polled 61 s ago, queue never polled', 'NOT_READY', 61, null, true],
      ['polled 61 s ago, queue polled 61 s ago', 'NOT_READY', 61, 61, true],
      ['polled 61 s ago, on no queue', 'NOT_READY', 61, null, false],
      ['polled 61 s ago, queue polled 30 s ago', 'READY', 61, 30, true],
      ['polled 30 s ago, queue polled 61 s ago', 'READY', 30, 61, true],
      ['never polled', 'READY', null, 61, true],
    ])('a READY deployment %s → %s', async (_case, expected, deploymentAgo, queueAgo, onQueue) => {
      const id = await deploymentPolled(deploymentAgo, queueAgo, onQueue);
      const [{ updated }] = await sql<{ updated: Date }>(gw, 'SELECT updated FROM deployment WHERE id = $1', [id]);
      await foreman.runOnce();
      expect(await statusOf(id)).toBe(expected);
      // `updated` stays as it was, whatever happened (it would wake the scheduler of recent deployments).
      expect(
        (await sql<{ updated: Date }>(gw, 'SELECT updated FROM deployment WHERE id = $1', [id]))[0].updated,
      ).toEqual(updated);
      await log.settle(gw.app, scheduler.app);
      expect(log.namesAbout(id)).toEqual(expected === 'NOT_READY' ? ['prefect.deployment.not-ready'] : []);
    });

    it('announces NOT_READY with its flow, queue and pool', async () => {
      const id = await deploymentPolled(61, 61);
      await foreman.runOnce();
      const [event] = await eventually('the event', () => log.about(id).length === 1 && log.about(id));
      const deployment = (await gw.get(`/deployments/${id}`)).body;
      expect(event).toMatchObject({
        event: 'prefect.deployment.not-ready',
        resource: { 'prefect.resource.id': `prefect.deployment.${id}`, 'prefect.resource.name': deployment.name },
        related: [
          {
            'prefect.resource.id': `prefect.flow.${flowId}`,
            'prefect.resource.name': 'foreman',
            'prefect.resource.role': 'flow',
          },
          {
            'prefect.resource.id': `prefect.work-queue.${deployment.work_queue_id}`,
            'prefect.resource.name': 'default',
            'prefect.resource.role': 'work-queue',
          },
          {
            'prefect.resource.name': deployment.work_pool_name,
            'prefect.work-pool.type': 'process',
            'prefect.resource.role': 'work-pool',
          },
        ],
        payload: {},
      });
    });
  });

  describe('work queues', () => {
    /** A queue of a new pool with the given status and last poll (seconds ago; null: never). */
    async function queueAt(status: string, ago: number | null): Promise<string> {
      const pool = await newPool();
      const at = ago === null ? null : new Date(Date.now() - ago * SECOND);
      await sql(gw, 'UPDATE work_queue SET status = $2, last_polled = $3 WHERE id = $1', [
        pool.default_queue_id,
        status,
        at,
      ]);
      return pool.default_queue_id;
    }

    const statusOf = async (id: string) => (await gw.get(`/work_queues/${id}`)).body.status;

    it('READY queues not polled for 60 s become NOT_READY, longest silent first; the rest stay', async () => {
      const older = await queueAt('READY', 300);
      const old = await queueAt('READY', 61);
      const recent = await queueAt('READY', 30);
      const never = await queueAt('READY', null);
      const paused = await queueAt('PAUSED', 300);
      const pass = await foreman.runOnce();
      expect(pass.workQueuesNotReady).toBeGreaterThanOrEqual(2);
      expect(await Promise.all([older, old, recent, never, paused].map(statusOf))).toEqual([
        'NOT_READY',
        'NOT_READY',
        'READY',
        'READY',
        'PAUSED',
      ]);

      await eventually('both events', () => log.about(old).length === 1);
      await log.settle(gw.app, scheduler.app);
      const order = log.events
        .filter((e) => e.event === 'prefect.work-queue.not-ready')
        .map((e) => e.resource['prefect.resource.id']);
      expect(order.indexOf(`prefect.work-queue.${older}`)).toBeLessThan(order.indexOf(`prefect.work-queue.${old}`));
      for (const untouched of [recent, never, paused]) expect(log.about(untouched)).toEqual([]);
      expect(log.about(old)[0]).toMatchObject({
        resource: {
          'prefect.resource.id': `prefect.work-queue.${old}`,
          'prefect.resource.name': 'default',
          'prefect.resource.role': 'work-queue',
        },
        related: [
          expect.objectContaining({ 'prefect.work-pool.type': 'process', 'prefect.resource.role': 'work-pool' }),
        ],
      });
    });

    it('a poll makes it READY again', async () => {
      const id = await queueAt('READY', 61);
      await foreman.runOnce();
      expect(await statusOf(id)).toBe('NOT_READY');
      const { work_pool_name } = (await gw.get(`/work_queues/${id}`)).body;
      await gw.post(`/work_pools/${work_pool_name}/get_scheduled_flow_runs`, {});
      await eventually('READY', async () => (await statusOf(id)) === 'READY');
      expect(
        (await eventually('the events', () => log.about(id).length === 2 && log.about(id))).map((e) => e.event),
      ).toEqual(['prefect.work-queue.not-ready', 'prefect.work-queue.ready']);
    });
  });

  describe('replicas and restarts', () => {
    /** Stale things of every kind: pools with a silent worker, READY queues and deployments nobody polls. */
    async function staleWorld(size: number): Promise<{ pools: string[]; queues: string[]; deployments: string[] }> {
      const world = { pools: [] as string[], queues: [] as string[], deployments: [] as string[] };
      for (let i = 0; i < size; i++) {
        const pool = await newPool();
        await heartbeat(pool.name, 'w');
        const deployment = (
          await gw.post('/deployments/', { name: `r-${serial}`, flow_id: flowId, work_pool_name: pool.name })
        ).body;
        world.pools.push(pool.id);
        world.queues.push(pool.default_queue_id);
        world.deployments.push(deployment.id);
      }
      await sql(
        gw,
        `UPDATE worker SET last_heartbeat_time = now() - interval '10 minutes' WHERE work_pool_id = ANY($1)`,
        [world.pools],
      );
      await sql(
        gw,
        `UPDATE work_queue SET status = 'READY', last_polled = now() - interval '10 minutes' WHERE id = ANY($1)`,
        [world.queues],
      );
      await sql(
        gw,
        `UPDATE deployment SET status = 'READY', last_polled = now() - interval '10 minutes' WHERE id = ANY($1)`,
        [world.deployments],
      );
      return world;
    }

    async function expectEachTransitionOnce(
      world: { pools: string[]; queues: string[]; deployments: string[] },
      ...apps: TestScheduler[]
    ) {
      await eventually('every event', () =>
        [...world.pools, ...world.queues, ...world.deployments].every((id) =>
          log.about(id).some((e) => /not-ready$/.test(e.event)),
        ),
      );
      await log.settle(gw.app, ...apps.map((app) => app.app));
      for (const id of world.pools) {
        expect(log.namesAbout(id)).toEqual([
          'prefect.work-pool.not-ready',
          'prefect.work-pool.ready',
          'prefect.work-pool.not-ready',
        ]);
      }
      for (const id of world.queues) expect(log.namesAbout(id)).toEqual(['prefect.work-queue.not-ready']);
      for (const id of world.deployments) expect(log.namesAbout(id)).toEqual(['prefect.deployment.not-ready']);
      const [{ online, ready }] = await sql(
        gw,
        `SELECT (SELECT count(*)::int FROM worker WHERE work_pool_id = ANY($1) AND status = 'ONLINE') AS online,
                (SELECT count(*)::int FROM work_pool WHERE id = ANY($1) AND status = 'READY') +
                (SELECT count(*)::int FROM work_queue WHERE id = ANY($2) AND status = 'READY') +
                (SELECT count(*)::int FROM deployment WHERE id = ANY($3) AND status = 'READY') AS ready`,
        [world.pools, world.queues, world.deployments],
      );
      expect({ online, ready }).toEqual({ online: 0, ready: 0 });
    }

    it('two schedulers sweeping at once make each transition, and emit each event, once', async () => {
      const world = await staleWorld(12);
      const replica = await TestScheduler.start(gw.config);
      try {
        const other = replica.app.get(ForemanService);
        const passes = await Promise.all([foreman.runOnce(), other.runOnce(), foreman.runOnce(), other.runOnce()]);
        const total = (key: 'poolsNotReady' | 'workQueuesNotReady' | 'deploymentsNotReady') =>
          passes.reduce((sum, pass) => sum + pass[key], 0);
        expect({
          pools: total('poolsNotReady'),
          queues: total('workQueuesNotReady'),
          deployments: total('deploymentsNotReady'),
        }).toEqual({
          pools: 12,
          queues: 12,
          deployments: 12,
        });
        await expectEachTransitionOnce(world, scheduler, replica);
      } finally {
        await replica.stop();
      }
    });

    it('running on its own loop, a restarted scheduler decides from the database alone', async () => {
      const looping = { ...gw.config, foreman: { ...gw.config.foreman, enabled: true, loopSeconds: 0.1 } };
      const first = await TestScheduler.start(looping);
      const world = await staleWorld(3);
      try {
        await expectEachTransitionOnce(world, first);
      } finally {
        await first.stop();
      }

      const later = await staleWorld(3);
      const second = await TestScheduler.start(looping);
      try {
        await expectEachTransitionOnce(later, second);
        // What the first instance already did is not done again.
        await expectEachTransitionOnce(world, second);
      } finally {
        await second.stop();
      }
    });
  });
});
