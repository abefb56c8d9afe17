import type { PrefectEvent } from '@app/contracts';
import { connect, NatsConnection, Subscription } from '@nats-io/transport-node';
import { DataSource, EntitySubscriberInterface } from 'typeorm';
import { TestGateway } from '../support/gateway';
import { BusProbe, Fixtures, inSeconds, runIds, sleep, waitFor } from '../support/delivery';
import { expectOperation } from '../support/openapi';
import { TestScheduler } from '../support/scheduler';

/**
 * The routes the `prefect` CLI calls that were missing: automations related to a resource, deleting a queue by id,
 * a queue's runs (`read-runs`), the pool's and queue's concurrency status (`slots`), and creating runs in bulk.
 */

jest.setTimeout(60_000);

const DATA_INTEGRITY =
  'Data integrity conflict. This usually means a unique or foreign key constraint was violated. See server logs for details.';
const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

/** Every event published under the namespace. */
class EventLog {
  readonly received: PrefectEvent[] = [];
  private readonly subscription: Subscription;

  constructor(nc: NatsConnection, namespace: string) {
    this.subscription = nc.subscribe(`${namespace}.events.>`, {
      callback: (error, message) => {
        if (!error) this.received.push(message.json<PrefectEvent>());
      },
    });
  }

  about(name: string, resourceId: string): PrefectEvent[] {
    return this.received.filter(
      (event) => event.event === name && event.resource['prefect.resource.id'] === resourceId,
    );
  }

  close(): void {
    this.subscription.unsubscribe();
  }
}

describe('routes the CLI needs', () => {
  let gw: TestGateway;
  let scheduler: TestScheduler;
  let nc: NatsConnection;
  let events: EventLog;
  let fixtures: Fixtures;
  let bus: BusProbe;
  let counter = 0;

  beforeAll(async () => {
    gw = await TestGateway.start({
      FOREMAN_ENABLED: 'false',
      LATE_RUNS_ENABLED: 'false',
      SCHEDULER_ENABLED: 'false',
    });
    scheduler = await TestScheduler.start(gw.config);
    nc = await connect({ servers: gw.config.nats.url });
    events = new EventLog(nc, gw.config.nats.namespace);
    fixtures = await Fixtures.create(gw, 'cli-routes');
    bus = new BusProbe(gw.config);
  });
  afterAll(async () => {
    events.close();
    await nc.close();
    await scheduler.stop();
    await gw.stop();
  });

  async function newPool(settings: { concurrency_limit?: number } = {}) {
    const name = `cli-pool-${++counter}`;
    const id = await fixtures.pool(name, settings);
    const pool = (await gw.get(`/work_pools/${name}`)).body as { default_queue_id: string };
    return { name, id, defaultQueueId: pool.default_queue_id };
  }

  const published = (runId: string) =>
    waitFor(`run ${runId} on the bus`, async () => (await gw.db.repos.flowRuns.findById(runId))?.dispatch_seq);

  async function deployment(body: Record<string, unknown>): Promise<{ id: string; flow_id: string }> {
    const response = await gw.post('/deployments/', { flow_id: fixtures.flowId, name: `dep-${++counter}`, ...body });
    expect(response.status).toBe(201);
    return response.body;
  }

  describe('GET /automations/related-to/{resource_id}', () => {
    it('answers an empty list, as Prefect does without automations', async () => {
      const response = await gw.get(`/automations/related-to/prefect.deployment.${UNKNOWN_ID}`);
      expectOperation(response, 'GET', '/automations/related-to/{resource_id}', 200);
      expect(response.body).toEqual([]);
    });
  });

  describe('DELETE /work_queues/{id}', () => {
    it('deletes the queue: 204, then 404; its runs keep their queue name without a queue; an event says so', async () => {
      const pool = await newPool();
      const queueId = await fixtures.queue(pool.name, 'doomed', { priority: 2 });
      await fixtures.queue(pool.name, 'after', { priority: 3 });
      const run = await fixtures.run(pool.name, 'doomed');
      await published(run.id);

      const response = await gw.delete(`/work_queues/${queueId}`);
      expect(response.status).toBe(204);
      expect(response.text).toBe('');
      expect((await gw.get(`/work_queues/${queueId}`)).status).toBe(404);
      const row = await gw.db.repos.flowRuns.findById(run.id);
      expect(row).toMatchObject({ work_queue_id: null, work_queue_name: 'doomed' });
      // Prefect's by-id delete leaves the other priorities as they were.
      const queues = (await gw.post(`/work_pools/${pool.name}/queues/filter`)).body as {
        name: string;
        priority: number;
      }[];
      expect(Object.fromEntries(queues.map((queue) => [queue.name, queue.priority]))).toEqual({ default: 1, after: 3 });
      const deleted = await waitFor('the deleted event', async () => {
        const found = events.about('prefect.work-queue.deleted', `prefect.work-queue.${queueId}`);
        return found.length > 0 && found;
      });
      expect(deleted).toHaveLength(1);
      expect(deleted[0]).toMatchObject({
        resource: { 'prefect.resource.name': 'doomed', 'prefect.resource.role': 'work-queue' },
        related: [
          {
            'prefect.resource.id': `prefect.work-pool.${pool.id}`,
            'prefect.resource.name': pool.name,
            'prefect.work-pool.type': 'process',
            'prefect.resource.role': 'work-pool',
          },
        ],
      });
    });

    it("hands out none of the deleted queue's messages afterwards", async () => {
      const pool = await newPool();
      const queueId = await fixtures.queue(pool.name, 'gone');
      const runs = [await fixtures.run(pool.name, 'gone'), await fixtures.run(pool.name, 'gone')];
      await Promise.all(runs.map((run) => published(run.id)));
      expect(await bus.unsettled(pool.id, queueId)).toBe(2);

      expect((await gw.delete(`/work_queues/${queueId}`)).status).toBe(204);
      const poll = await gw.post(`/work_pools/${pool.name}/get_scheduled_flow_runs`, {});
      expect(poll.status).toBe(200);
      expect(runIds(poll)).toEqual([]);
      await waitFor('the consumer to go', () =>
        bus.consumer(pool.id, queueId).then(
          () => false,
          () => true,
        ),
      );
      await sleep(500);
      expect(runIds(await gw.post(`/work_pools/${pool.name}/get_scheduled_flow_runs`, {}))).toEqual([]);
    });

    it("refuses the pool's default queue with Prefect's data-integrity 409; unknown ids are 404", async () => {
      const pool = await newPool();
      const refused = await gw.delete(`/work_queues/${pool.defaultQueueId}`);
      expect(refused.status).toBe(409);
      expect(refused.body).toEqual({ detail: DATA_INTEGRITY });
      expect((await gw.get(`/work_queues/${pool.defaultQueueId}`)).status).toBe(200);

      const unknown = await gw.delete(`/work_queues/${UNKNOWN_ID}`);
      expect(unknown.status).toBe(404);
      expect(unknown.body).toEqual({ detail: 'work queue not found' });
      // Prefect's `{id:uuid}` route does not match anything else.
      expect((await gw.delete('/work_queues/not-a-uuid')).status).toBe(404);
    });
  });

  describe('POST /work_queues/{id}/get_runs', () => {
    it("returns the queue's due runs as flow runs, leased as the pool poll leases them, and records a poll", async () => {
      const pool = await newPool();
      const queueId = await fixtures.queue(pool.name, 'reader');
      const dep = await deployment({ work_pool_name: pool.name, work_queue_name: 'reader' });
      const runs = [await fixtures.run(pool.name, 'reader', -2), await fixtures.run(pool.name, 'reader', -1)];
      const other = await fixtures.run(pool.name);
      await Promise.all([...runs, other].map((run) => published(run.id)));

      const response = await gw.post(`/work_queues/${queueId}/get_runs`, {});
      expectOperation(response, 'POST', '/work_queues/{id}/get_runs', 200);
      expect(response.body.map((run: { id: string }) => run.id)).toEqual(runs.map((run) => run.id));
      expect(response.body[0]).toMatchObject({
        work_queue_id: queueId,
        work_queue_name: 'reader',
        state_type: 'SCHEDULED',
        state: { type: 'SCHEDULED', name: 'Scheduled' },
      });
      // Within the lease, neither a poll of the pool nor another read hands them out again.
      expect(runIds(await gw.post(`/work_pools/${pool.name}/get_scheduled_flow_runs`, {}))).toEqual([other.id]);
      expect((await gw.post(`/work_queues/${queueId}/get_runs`, {})).body).toEqual([]);

      const queue = await waitFor('the poll to be recorded', async () => {
        const read = (await gw.get(`/work_queues/${queueId}`)).body;
        return read.last_polled && read.status === 'READY' && read;
      });
      expect(queue.status).toBe('READY');
      await waitFor('the queue and deployment READY events', async () =>
        events.about('prefect.work-queue.ready', `prefect.work-queue.${queueId}`).length === 1 &&
        events.about('prefect.deployment.ready', `prefect.deployment.${dep.id}`).length === 1
          ? true
          : false,
      );
      expect((await gw.get(`/deployments/${dep.id}`)).body.status).toBe('READY');
    });

    it('gives nothing a pool poller holds; honours scheduled_before and limit', async () => {
      const pool = await newPool();
      const queueId = await fixtures.queue(pool.name, 'shared');
      const held = await fixtures.run(pool.name, 'shared', -3);
      const early = await fixtures.run(pool.name, 'shared', -2);
      const early2 = await fixtures.run(pool.name, 'shared', -1);
      const later = await fixtures.run(pool.name, 'shared', 3600);
      await Promise.all([held, early, early2].map((run) => published(run.id)));

      const poll = await gw.post(`/work_pools/${pool.name}/get_scheduled_flow_runs`, { limit: 1 });
      expect(runIds(poll)).toEqual([held.id]);

      const first = await gw.post(`/work_queues/${queueId}/get_runs`, { limit: 1, scheduled_before: inSeconds(60) });
      expect(first.body.map((run: { id: string }) => run.id)).toEqual([early.id]);
      const rest = await gw.post(`/work_queues/${queueId}/get_runs`, { scheduled_before: inSeconds(60) });
      expect(rest.body.map((run: { id: string }) => run.id)).toEqual([early2.id]);
      // No window: runs past the dispatch horizon too, as Prefect returns every scheduled run of the queue.
      const all = await gw.post(`/work_queues/${queueId}/get_runs`);
      expect(all.body.map((run: { id: string }) => run.id)).toEqual([later.id]);
    });

    it("Prefect's UI (X-Prefect-UI: true) only looks: every scheduled run within the queue's slots, none leased, no poll", async () => {
      const pool = await newPool();
      const queueId = await fixtures.queue(pool.name, 'ui-only', { concurrency_limit: 3 });
      const running = await fixtures.run(pool.name, 'ui-only', 3600);
      expect(
        (await gw.post(`/flow_runs/${running.id}/set_state`, { state: { type: 'RUNNING' }, force: true })).status,
      ).toBe(201);
      const runs = [
        await fixtures.run(pool.name, 'ui-only', -60),
        await fixtures.run(pool.name, 'ui-only', -30),
        await fixtures.run(pool.name, 'ui-only', 7200),
      ];
      await Promise.all(runs.slice(0, 2).map((run) => published(run.id)));
      const look = (body: Record<string, unknown>) =>
        gw.request('POST', `/work_queues/${queueId}/get_runs`, body, { 'x-prefect-ui': 'true' });

      const ui = await look({});
      expect(ui.status).toBe(200);
      expectOperation(ui, 'POST', '/work_queues/{id}/get_runs', 200);
      // Two free slots (limit 3, one RUNNING): the two earliest.
      expect(ui.body.map((run: { id: string }) => run.id)).toEqual([runs[0].id, runs[1].id]);
      expect((await look({ limit: 1 })).body.map((run: { id: string }) => run.id)).toEqual([runs[0].id]);
      expect((await look({ scheduled_before: inSeconds(-45) })).body.map((run: { id: string }) => run.id)).toEqual([
        runs[0].id,
      ]);
      await sleep(1500);
      expect((await gw.get(`/work_queues/${queueId}`)).body).toMatchObject({ last_polled: null, status: 'NOT_READY' });
      // Nothing was leased: a worker's poll gets them at once.
      expect(runIds(await gw.post(`/work_pools/${pool.name}/get_scheduled_flow_runs`, {})).sort()).toEqual(
        [runs[0].id, runs[1].id].sort(),
      );

      await gw.patch(`/work_queues/${queueId}`, { is_paused: true });
      expect((await look({})).body).toEqual([]);
    });

    it("answers Prefect's 404 for an unknown queue and 422 for a limit above the default", async () => {
      const unknown = await gw.post(`/work_queues/${UNKNOWN_ID}/get_runs`, {});
      expect(unknown.status).toBe(404);
      expect(unknown.body).toEqual({ exception_message: `Work queue with id ${UNKNOWN_ID} not found.` });
      const pool = await newPool();
      expect((await gw.post(`/work_queues/${pool.defaultQueueId}/get_runs`, { limit: 201 })).status).toBe(422);
    });
  });

  describe('concurrency_status', () => {
    async function runInState(pool: string, queue: string | null, type: 'RUNNING' | 'PENDING' | 'COMPLETED') {
      const run = await fixtures.run(pool, queue, 3600);
      const response = await gw.post(`/flow_runs/${run.id}/set_state`, { state: { type }, force: true });
      expect(response.status).toBe(201);
      return run.id;
    }

    it("POST /work_pools/{name}/concurrency_status: the pool's slot holders per queue, as pool reads count them", async () => {
      const pool = await newPool({ concurrency_limit: 5 });
      const limitedId = await fixtures.queue(pool.name, 'limited', { concurrency_limit: 2, priority: 2 });
      await fixtures.queue(pool.name, 'idle', { priority: 3 });
      const inDefault = [await runInState(pool.name, null, 'RUNNING'), await runInState(pool.name, null, 'PENDING')];
      const inLimited = [await runInState(pool.name, 'limited', 'RUNNING')];
      await runInState(pool.name, 'limited', 'COMPLETED');
      await fixtures.run(pool.name, 'limited');

      const response = await gw.post(`/work_pools/${pool.name}/concurrency_status`, {});
      expectOperation(response, 'POST', '/work_pools/{name}/concurrency_status', 200);
      expect(response.body).toMatchObject({
        active_slots: 3,
        concurrency_limit: 5,
        count: 3,
        limit: 200,
        pages: 1,
        page: 1,
      });
      expect((await gw.get(`/work_pools/${pool.name}`)).body.active_slots).toBe(3);
      const [first, second, third] = response.body.queues;
      expect(first).toMatchObject({
        queue_id: pool.defaultQueueId,
        queue_name: 'default',
        active_slots: 2,
        concurrency_limit: null,
        flow_run_count: 2,
      });
      expect(first.flow_runs.map((run: { id: string }) => run.id)).toEqual([...inDefault].sort());
      expect(second).toMatchObject({
        queue_id: limitedId,
        queue_name: 'limited',
        active_slots: 1,
        concurrency_limit: 2,
      });
      expect(second.flow_runs).toEqual([
        {
          id: inLimited[0],
          name: expect.any(String),
          state_type: 'RUNNING',
          state_name: 'Running',
          start_time: expect.any(String),
          state_timestamp: expect.any(String),
          time_in_current_state: expect.any(Number),
        },
      ]);
      expect(second.flow_runs[0].time_in_current_state).toBeGreaterThanOrEqual(0);
      expect(third).toMatchObject({ queue_name: 'idle', active_slots: 0, flow_runs: [], flow_run_count: 0 });

      const paged = await gw.post(`/work_pools/${pool.name}/concurrency_status`, {
        page: 2,
        limit: 2,
        flow_run_limit: 0,
      });
      expect(paged.body).toMatchObject({ active_slots: 3, count: 3, limit: 2, pages: 2, page: 2 });
      expect(paged.body.queues.map((queue: { queue_name: string }) => queue.queue_name)).toEqual(['idle']);
      const none = await gw.post(`/work_pools/${pool.name}/concurrency_status`, { limit: 0 });
      expect(none.body).toMatchObject({ active_slots: 3, count: 3, limit: 0, pages: 0, queues: [] });
      const capped = await gw.post(`/work_pools/${pool.name}/concurrency_status`, { flow_run_limit: 1 });
      expect(capped.body.queues[0]).toMatchObject({ active_slots: 2, flow_run_count: 2 });
      expect(capped.body.queues[0].flow_runs).toHaveLength(1);
    });

    it("POST /work_queues/{id}/concurrency_status: the queue's slot holders, paged by id", async () => {
      const pool = await newPool();
      const queueId = await fixtures.queue(pool.name, 'q', { concurrency_limit: 4 });
      const holders = [
        await runInState(pool.name, 'q', 'RUNNING'),
        await runInState(pool.name, 'q', 'PENDING'),
        await runInState(pool.name, 'q', 'RUNNING'),
      ].sort();
      await runInState(pool.name, 'q', 'COMPLETED');

      const response = await gw.post(`/work_queues/${queueId}/concurrency_status`, {});
      expectOperation(response, 'POST', '/work_queues/{id}/concurrency_status', 200);
      expect(response.body).toMatchObject({
        active_slots: 3,
        concurrency_limit: 4,
        count: 3,
        limit: 200,
        pages: 1,
        page: 1,
      });
      expect(response.body.flow_runs.map((run: { id: string }) => run.id)).toEqual(holders);
      expect((await gw.get(`/work_queues/${queueId}`)).body.active_slots).toBe(3);

      const page2 = await gw.post(`/work_queues/${queueId}/concurrency_status`, { page: 2, limit: 2 });
      expect(page2.body).toMatchObject({ active_slots: 3, count: 3, limit: 2, pages: 2, page: 2 });
      expect(page2.body.flow_runs.map((run: { id: string }) => run.id)).toEqual([holders[2]]);
      // An unlimited queue still reports its holders here (its reads say null).
      const unlimited = await gw.post(`/work_queues/${pool.defaultQueueId}/concurrency_status`);
      expect(unlimited.body).toMatchObject({ active_slots: 0, concurrency_limit: null, flow_runs: [], pages: 0 });
    });

    it("answers Prefect's 404s and 422s", async () => {
      const pool = await newPool();
      const missingPool = await gw.post(`/work_pools/no-such-pool/concurrency_status`, {});
      expect(missingPool.status).toBe(404);
      expect(missingPool.body).toEqual({ detail: "Work pool 'no-such-pool' not found." });
      const missingQueue = await gw.post(`/work_queues/${UNKNOWN_ID}/concurrency_status`, {});
      expect(missingQueue.status).toBe(404);
      expect(missingQueue.body).toEqual({ detail: 'Work queue not found.' });
      for (const body of [{ page: 0 }, { flow_run_limit: 201 }, { flow_run_limit: -1 }, { limit: 201 }]) {
        expect((await gw.post(`/work_pools/${pool.name}/concurrency_status`, body)).status).toBe(422);
      }
      expect((await gw.post(`/work_queues/${pool.defaultQueueId}/concurrency_status`, { page: 0 })).status).toBe(422);
    });
  });

  describe('POST /deployments/{id}/create_flow_run/bulk', () => {
    it('creates each run as create_flow_run does, in order, with its state and its event', async () => {
      const pool = await newPool();
      const dep = await deployment({
        work_pool_name: pool.name,
        parameters: { a: 1, b: 2 },
        tags: ['dep'],
      });
      const single = (await gw.post(`/deployments/${dep.id}/create_flow_run`, { parameters: { b: 3 }, tags: ['x'] }))
        .body;
      const response = await gw.post(`/deployments/${dep.id}/create_flow_run/bulk`, [
        { parameters: { b: 3 }, tags: ['x'] },
        {
          name: 'named',
          work_queue_name: 'made-for-it',
          state: { type: 'SCHEDULED', state_details: { scheduled_time: inSeconds(600) } },
        },
        { idempotency_key: 'k1' },
        { idempotency_key: 'k1' },
      ]);
      expectOperation(response, 'POST', '/deployments/{id}/create_flow_run/bulk', 200);
      const results = response.body.results as { flow_run_id: string; status: string; error: string | null }[];
      expect(results.map((result) => result.status)).toEqual(['CREATED', 'CREATED', 'CREATED', 'CREATED']);
      expect(results[3].flow_run_id).toBe(results[2].flow_run_id);
      expect(results.every((result) => result.error === null)).toBe(true);

      const first = (await gw.get(`/flow_runs/${results[0].flow_run_id}`)).body;
      const comparable = (run: Record<string, any>) => ({
        ...run,
        id: undefined,
        name: undefined,
        created: undefined,
        updated: undefined,
        state_id: undefined,
        state: {
          ...run.state,
          id: undefined,
          timestamp: undefined,
          state_details: { ...run.state.state_details, scheduled_time: undefined, flow_run_id: undefined },
        },
        expected_start_time: undefined,
        next_scheduled_start_time: undefined,
        estimated_start_time_delta: undefined,
        state_timestamp: undefined,
      });
      expect(comparable(first)).toEqual(comparable(single));
      expect(first).toMatchObject({ parameters: { a: 1, b: 3 }, tags: ['dep', 'x'], state_type: 'SCHEDULED' });
      const second = (await gw.get(`/flow_runs/${results[1].flow_run_id}`)).body;
      expect(second).toMatchObject({ name: 'named', work_queue_name: 'made-for-it', state_name: 'Scheduled' });
      expect((await gw.get(`/work_pools/${pool.name}/queues/made-for-it`)).body.id).toBe(second.work_queue_id);

      for (const id of new Set(results.map((result) => result.flow_run_id))) {
        const [event] = await waitFor(`the Scheduled event of ${id}`, async () => {
          const found = events.about('prefect.flow-run.Scheduled', `prefect.flow-run.${id}`);
          return found.length > 0 && found;
        });
        const run = (await gw.get(`/flow_runs/${id}`)).body;
        expect(event).toMatchObject({ id: run.state.id, payload: { intended: { from: null, to: 'SCHEDULED' } } });
        expect(event.related.map((related) => related['prefect.resource.role'])).toEqual(
          expect.arrayContaining(['flow', 'deployment', 'work-queue', 'work-pool']),
        );
      }
      await sleep(300);
      expect(events.about('prefect.flow-run.Scheduled', `prefect.flow-run.${results[2].flow_run_id}`)).toHaveLength(1);
      // Due runs are dispatched like any other.
      await published(results[0].flow_run_id);
    });

    it('reports a run it cannot create as FAILED in its place and still creates the others', async () => {
      const noPool = await deployment({ parameter_openapi_schema: null, enforce_parameter_schema: false });
      const response = await gw.post(`/deployments/${noPool.id}/create_flow_run/bulk`, [
        {},
        { work_queue_name: 'q' },
        { enforce_parameter_schema: true, parameters: { a: 1 } },
      ]);
      expect(response.status).toBe(200);
      expect(response.body.results).toEqual([
        { flow_run_id: expect.any(String), status: 'CREATED', error: null },
        {
          flow_run_id: null,
          status: 'FAILED',
          error: 'Cannot create flow run in work queue q because deployment is not associated with a work pool.',
        },
        {
          flow_run_id: null,
          status: 'FAILED',
          error: 'Parameter schema enforcement is enabled but deployment has no valid schema.',
        },
      ]);
    });

    it('checks each run against the parameter schema as Prefect does, reporting a misfit as FAILED in its place', async () => {
      const dep = await deployment({
        parameter_openapi_schema: { type: 'object', properties: { x: { type: 'integer' } }, required: ['x'] },
        enforce_parameter_schema: true,
      });
      const response = await gw.post(`/deployments/${dep.id}/create_flow_run/bulk`, [
        { parameters: { x: 'a' } },
        { parameters: { x: 1 } },
        { parameters: {} },
        { parameters: { x: 'b' }, enforce_parameter_schema: false },
      ]);
      expect(response.status).toBe(200);
      expect(response.body.results).toEqual([
        {
          flow_run_id: null,
          status: 'FAILED',
          error:
            "Parameter validation failed: Validation failed for field 'x'. Failure reason: 'a' is not of type 'integer'",
        },
        { flow_run_id: expect.any(String), status: 'CREATED', error: null },
        {
          flow_run_id: null,
          status: 'FAILED',
          error: "Parameter validation failed: Validation failed. Failure reason: 'x' is a required property",
        },
        { flow_run_id: expect.any(String), status: 'CREATED', error: null },
      ]);
    });

    it("answers Prefect's 404, 400 and 422; an empty list creates nothing", async () => {
      const dep = await deployment({});
      const missing = await gw.post(`/deployments/${UNKNOWN_ID}/create_flow_run/bulk`, []);
      expect(missing.status).toBe(404);
      expect(missing.body).toEqual({ detail: 'Deployment not found' });
      expect((await gw.post(`/deployments/${dep.id}/create_flow_run/bulk`, [])).body).toEqual({ results: [] });
      const tooMany = await gw.post(
        `/deployments/${dep.id}/create_flow_run/bulk`,
        Array.from({ length: 101 }, () => ({})),
      );
      expect(tooMany.status).toBe(400);
      expect(tooMany.body).toEqual({ detail: 'Cannot create more than 100 flow runs at once.' });
      expect((await gw.post(`/deployments/${dep.id}/create_flow_run/bulk`, {})).status).toBe(422);
      const invalid = await gw.post(`/deployments/${dep.id}/create_flow_run/bulk`, [{}, { tags: 'x' }]);
      expect(invalid.status).toBe(422);
      expect(invalid.body.exception_detail[0].loc).toEqual(['body', 1, 'tags']);
    });

    it('makes a bulk in four SQL statements whatever its size (BEGIN, one read, one insert, COMMIT), plus one read per other queue named', async () => {
      const pool = await newPool();
      const dep = await deployment({ work_pool_name: pool.name, parameters: { n: 0 } });
      const statements: string[] = [];
      const dataSource = gw.app.get(DataSource);
      const counter: EntitySubscriberInterface = { beforeQuery: (event) => void statements.push(event.query) };
      dataSource.subscribers.push(counter);
      const statementsOf = async (runs: number, queue?: string) => {
        statements.length = 0;
        const body = Array.from({ length: runs }, (_, i) => ({ parameters: { n: i }, work_queue_name: queue }));
        const response = await gw.post(`/deployments/${dep.id}/create_flow_run/bulk`, body);
        expect(response.body.results.filter((result: { status: string }) => result.status === 'CREATED')).toHaveLength(
          runs,
        );
        // The runs' events are made from the rows read: nothing is read again once the transaction commits.
        await sleep(200);
        return statements.map((sql) => sql.trim().split(/\s+/).slice(0, 2).join(' '));
      };
      try {
        const one = await statementsOf(1);
        expect(one).toEqual(['START TRANSACTION', 'SELECT "DeploymentEntity"."id"', 'WITH inserted', 'COMMIT']);
        expect(await statementsOf(100)).toEqual(one);
        // A queue named is created by the first request that names it, then found by one read.
        await statementsOf(1, 'other');
        const named = ['START TRANSACTION', 'SELECT "DeploymentEntity"."id"', 'SELECT "WorkQueueEntity"."id"'];
        expect(await statementsOf(1, 'other')).toEqual([...named, 'WITH inserted', 'COMMIT']);
        expect(await statementsOf(100, 'other')).toEqual([...named, 'WITH inserted', 'COMMIT']);
      } finally {
        dataSource.subscribers.splice(dataSource.subscribers.indexOf(counter), 1);
      }
    });

    it('creates 1,000 runs in bulk, per run within a small factor of the scheduler inserting its runs', async () => {
      const pool = await newPool();
      const dep = await deployment({ work_pool_name: pool.name, parameters: { n: 0 } });
      const row = (await gw.db.repos.deployments.findById(dep.id))!;
      const template = {
        flow_id: row.flow_id,
        deployment_id: row.id,
        deployment_version: row.version,
        work_queue_name: row.work_queue_name,
        work_queue_id: row.work_queue_id,
        parameters: row.parameters,
        infrastructure_document_id: null,
        tags: [],
        labels: {},
        created_by: { id: null, type: 'SCHEDULE', display_value: null },
      };
      let bulkMs = 0;
      let schedulerMs = 0;
      // Interleaved, so that load from elsewhere on the machine weighs on both alike.
      for (let batch = 0; batch < 10; batch++) {
        const body = Array.from({ length: 100 }, (_, i) => ({
          parameters: { n: batch * 100 + i },
          state: { type: 'SCHEDULED', state_details: { scheduled_time: inSeconds(86_400 + batch * 100 + i) } },
        }));
        let started = Date.now();
        const response = await gw.post(`/deployments/${dep.id}/create_flow_run/bulk`, body);
        bulkMs += Date.now() - started;
        expect(response.body.results.filter((result: { status: string }) => result.status === 'CREATED')).toHaveLength(
          100,
        );
        const runs = Array.from({ length: 100 }, (_, i) => ({
          template: 0,
          name: `scheduled-${batch}-${i}`,
          idempotency_key: `bench ${batch} ${i}`,
          scheduled_time: new Date(Date.now() + 172_800_000 + (batch * 100 + i) * 1000),
        })).map((run) => ({ ...run, scheduled_time_text: run.scheduled_time.toISOString() }));
        const state = {
          type: 'SCHEDULED',
          name: 'Scheduled',
          message: '',
          timestamp: new Date(),
          empirical_policy: {},
        };
        started = Date.now();
        await gw.db.transaction((tx) => tx.scheduler.insertScheduledRuns([template], runs, state));
        schedulerMs += Date.now() - started;
      }
      const count = await gw.post('/flow_runs/count', { deployments: { id: { any_: [dep.id] } } });
      expect(count.body).toBe(2000);
      console.log(
        `create_flow_run/bulk: 1000 runs in ${bulkMs} ms (${Math.round(1e6 / bulkMs)} runs/s, 10 HTTP requests of 100); ` +
          `the scheduler's insert: 1000 runs in ${schedulerMs} ms (${Math.round(1e6 / schedulerMs)} runs/s)`,
      );
      // The request validates, orchestrates and publishes every run besides inserting it: within a small factor.
      expect(bulkMs).toBeLessThan(schedulerMs * 10 + 1000);
    });
  });
});
