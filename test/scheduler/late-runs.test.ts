import { natsNames } from '@app/contracts';
import { NatsClient } from '@app/messaging';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { LateRunsService } from '../../apps/scheduler/src/late-runs/late-runs.service';
import { TestGateway } from '../support/gateway';
import { TestScheduler } from '../support/scheduler';
import { eventually, EventLog, sql } from './helpers';

const SECOND = 1000;

/** Prefect's late-runs service: `Scheduled` runs 15 s overdue get a `Late` state through orchestration. */
describe('late runs', () => {
  let gw: TestGateway;
  let scheduler: TestScheduler;
  let lateRuns: LateRunsService;
  let log: EventLog;
  let flowId: string;
  let pools = 0;

  beforeAll(async () => {
    // Loops off (each test runs passes itself), short leases for the lease case.
    gw = await TestGateway.start({ FOREMAN_ENABLED: 'false', LATE_RUNS_ENABLED: 'false', DELIVERY_LEASE_SECONDS: '2' });
    scheduler = await TestScheduler.start(gw.config);
    lateRuns = scheduler.app.get(LateRunsService);
    log = await EventLog.subscribe(gw);
    flowId = (await gw.post('/flows/', { name: 'late' })).body.id;
    expect((await gw.post('/work_pools/', { name: 'late-pool', type: 'process' })).status).toBe(201);
  });
  afterAll(async () => {
    await log.close();
    await scheduler.stop();
    await gw.stop();
  });

  /** A run in the pool, in a SCHEDULED state (named `name`) due at `at`. */
  async function scheduledRun(at: Date, name?: string, pool = 'late-pool'): Promise<string> {
    const response = await gw.post('/flow_runs/', {
      flow_id: flowId,
      work_pool_name: pool,
      state: { type: 'SCHEDULED', name, state_details: { scheduled_time: at.toISOString() } },
    });
    expect(response.status).toBe(201);
    return response.body.id;
  }

  /**
   * `count` runs exactly like the (unpublished) SCHEDULED run `templateId`, each with its own copy of its state,
   * written in one statement: creating hundreds through the API would dominate the test.
   */
  async function copiesOf(templateId: string, count: number): Promise<string[]> {
    const copies = await sql<{ flow_run_id: string }>(
      gw,
      `WITH ids AS (SELECT gen_random_uuid() AS run_id, gen_random_uuid() AS state_id, g FROM generate_series(1, $2) AS g),
            runs AS (
              INSERT INTO flow_run
              SELECT (jsonb_populate_record(NULL::flow_run, to_jsonb(t) || jsonb_build_object(
                        'id', ids.run_id, 'name', t.name || '-' || ids.g, 'state_id', ids.state_id,
                        'dispatched_state_id', NULL, 'dispatched_queue_id', NULL, 'leased_until', NULL))).*
                FROM flow_run t, ids WHERE t.id = $1
              RETURNING id)
       INSERT INTO flow_run_state
       SELECT (jsonb_populate_record(NULL::flow_run_state, to_jsonb(s) || jsonb_build_object('id', ids.state_id, 'flow_run_id', ids.run_id))).*
         FROM flow_run t JOIN flow_run_state s ON s.id = t.state_id, ids WHERE t.id = $1
       RETURNING flow_run_id`,
      [templateId, count - 1],
    );
    return [templateId, ...copies.map((copy) => copy.flow_run_id)];
  }

  const run = async (id: string) => (await gw.get(`/flow_runs/${id}`)).body;
  const history = (id: string) => gw.db.repos.flowRunStates.historyOf(id);
  const ago = (seconds: number, from = Date.now()) => new Date(from - seconds * SECOND);

  it('a Scheduled run 15 s past its start gets a new SCHEDULED state named Late, due when it was', async () => {
    const due = ago(60);
    const id = await scheduledRun(due);
    const before = await run(id);
    expect(await lateRuns.runOnce()).toBeGreaterThanOrEqual(1);

    const after = await run(id);
    expect(after).toMatchObject({
      state_type: 'SCHEDULED',
      state_name: 'Late',
      next_scheduled_start_time: before.next_scheduled_start_time,
      expected_start_time: before.expected_start_time,
      state: {
        type: 'SCHEDULED',
        name: 'Late',
        message: null,
        state_details: { scheduled_time: before.state.state_details.scheduled_time, flow_run_id: id },
      },
    });
    expect(after.state.id).not.toBe(before.state.id);
    expect(new Date(after.state.timestamp).getTime()).toBeGreaterThan(new Date(before.state.timestamp).getTime());
    expect((await history(id)).map((state) => state.name)).toEqual(['Scheduled', 'Late']);
    // The transition is committed like any other, so it is announced like any other.
    const event = await eventually('the Late event', () =>
      log.about(id).find((e) => e.event === 'prefect.flow-run.Late'),
    );
    expect(event.id).toBe(after.state.id);

    // Marked once: the next pass finds nothing to do for it.
    await lateRuns.runOnce();
    expect((await history(id)).map((state) => state.name)).toEqual(['Scheduled', 'Late']);
  });

  it('the threshold is LATE_RUNS_AFTER_SECONDS after the start time, inclusive', async () => {
    const due = ago(600);
    const id = await scheduledRun(due);
    await lateRuns.runOnce(new Date(due.getTime() + 14.9 * SECOND));
    expect((await run(id)).state_name).toBe('Scheduled');
    await lateRuns.runOnce(new Date(due.getTime() + 15 * SECOND));
    expect((await run(id)).state_name).toBe('Late');
  });

  it('only runs in the state named exactly Scheduled are marked', async () => {
    const awaitingRetry = await scheduledRun(ago(3600), 'AwaitingRetry');
    const late = await scheduledRun(ago(3600), 'Late');
    const lowercase = await scheduledRun(ago(3600), 'scheduled');
    const pending = (
      await gw.post('/flow_runs/', { flow_id: flowId, work_pool_name: 'late-pool', state: { type: 'PENDING' } })
    ).body.id;
    await lateRuns.runOnce();
    for (const [id, name] of [
      [awaitingRetry, 'AwaitingRetry'],
      [late, 'Late'],
      [lowercase, 'scheduled'],
      [pending, 'Pending'],
    ]) {
      expect((await history(id)).map((state) => state.name)).toEqual([name]);
    }
  });

  /** A new pool with one run due `secondsAgo`, once it is on the bus; resolves to the pool and run, and its delivery columns. */
  async function publishedRun(secondsAgo: number) {
    const pool = (await gw.post('/work_pools/', { name: `published-${++pools}`, type: 'process' })).body as {
      id: string;
      name: string;
    };
    const id = await scheduledRun(ago(secondsAgo), undefined, pool.name);
    const published = await eventually('published', async () => {
      const [row] = await sql(
        gw,
        'SELECT state_id, dispatched_state_id, dispatch_epoch, leased_until FROM flow_run WHERE id = $1',
        [id],
      );
      return row.dispatched_state_id === row.state_id && row;
    });
    return { pool, id, published };
  }

  const deliveryOf = async (id: string) =>
    (
      await sql(gw, 'SELECT state_id, dispatched_state_id, dispatch_epoch, leased_until FROM flow_run WHERE id = $1', [
        id,
      ])
    )[0];

  const messagesOf = async (poolId: string) => {
    const nc = await connect({ servers: gw.config.nats.url });
    try {
      return (await (await jetstreamManager(nc)).streams.info(natsNames(gw.config.nats.namespace).poolStream(poolId)))
        .state.messages;
    } finally {
      await nc.close();
    }
  };

  it('an overdue run of a full CANCEL_NEW deployment is Cancelled instead of Late; under ENQUEUE it goes Late', async () => {
    const runOf = async (deploymentId: string) => {
      const response = await gw.post(`/deployments/${deploymentId}/create_flow_run`, {
        state: { type: 'SCHEDULED', state_details: { scheduled_time: ago(60).toISOString() } },
      });
      expect(response.status).toBe(201);
      return response.body.id as string;
    };
    const outcomes: Record<string, string[]> = {};
    for (const collision_strategy of ['CANCEL_NEW', 'ENQUEUE']) {
      const deployment = await gw.post('/deployments/', {
        name: `late-${collision_strategy}`,
        flow_id: flowId,
        work_pool_name: 'late-pool',
        concurrency_limit: 1,
        concurrency_options: { collision_strategy },
      });
      expect(deployment.status).toBe(201);
      const holder = await runOf(deployment.body.id);
      expect((await gw.post(`/flow_runs/${holder}/set_state`, { state: { type: 'PENDING' } })).body.status).toBe(
        'ACCEPT',
      );
      const overdue = await runOf(deployment.body.id);
      await lateRuns.runOnce();
      outcomes[collision_strategy] = (await history(overdue)).map((state) => `${state.type}/${state.name}`);
      if (collision_strategy === 'CANCEL_NEW') {
        expect((await run(overdue)).state.message).toBe('Deployment concurrency limit reached.');
      }
    }
    expect(outcomes).toEqual({
      CANCEL_NEW: ['SCHEDULED/Scheduled', 'CANCELLED/Cancelled'],
      ENQUEUE: ['SCHEDULED/Scheduled', 'SCHEDULED/Late'],
    });
  });

  it('a run waiting on the bus keeps its message: marked Late, it is not published again, and that message hands it out', async () => {
    const { pool, id, published } = await publishedRun(60);
    await lateRuns.runOnce();
    const late = await run(id);
    expect(late.state_name).toBe('Late');
    // The publication carries over to the Late state: same publication (epoch), one message on the bus.
    expect(await deliveryOf(id)).toEqual({
      state_id: late.state.id,
      dispatched_state_id: late.state.id,
      dispatch_epoch: published.dispatch_epoch,
      leased_until: null,
    });
    await scheduler.dispatcher.dispatchDue();
    expect(await messagesOf(pool.id)).toBe(1);
    expect((await deliveryOf(id)).dispatch_epoch).toBe(published.dispatch_epoch);

    const polled = await gw.post(`/work_pools/${pool.name}/get_scheduled_flow_runs`, {});
    expect(
      polled.body.map((entry: { flow_run: { id: string; state_id: string; state_name: string } }) => entry.flow_run),
    ).toEqual([expect.objectContaining({ id, state_id: late.state.id, state_name: 'Late' })]);
    const claim = await gw.post(`/flow_runs/${id}/set_state`, { state: { type: 'PENDING' } });
    expect(claim.status).toBe(201);
    expect(claim.body.status).toBe('ACCEPT');
    expect(claim.body.state.state_details.scheduled_time).toBe(late.state.state_details.scheduled_time);
  });

  it('marking a run on the bus Late does not wake the dispatcher: its message stands for it', async () => {
    // A burst that outlasts LATE_RUNS_AFTER_SECONDS marks runs by the thousand; a pass woken by each found nothing.
    const { id } = await publishedRun(60);
    const nc = await connect({ servers: gw.config.nats.url });
    try {
      let wakes = 0;
      nc.subscribe(natsNames(gw.config.nats.namespace).dispatchWake, {
        callback: () => {
          wakes += 1;
        },
      });
      await nc.flush();
      expect(await lateRuns.runOnce()).toBeGreaterThanOrEqual(1);
      expect((await run(id)).state_name).toBe('Late');
      // Core NATS keeps order per connection: a wake published before this round trip has arrived by its end.
      await scheduler.app.get(NatsClient).connection.flush();
      await nc.flush();
      expect(wakes).toBe(0);
    } finally {
      await nc.close();
    }
  });

  it('a run a poller holds is marked Late and stays with that poller until it claims it', async () => {
    const { pool, id } = await publishedRun(60);
    const polled = await gw.post(`/work_pools/${pool.name}/get_scheduled_flow_runs`, {});
    expect(polled.body.map((entry: { flow_run: { id: string } }) => entry.flow_run.id)).toEqual([id]);
    const { leased_until } = await deliveryOf(id);
    expect(leased_until).not.toBeNull();

    await lateRuns.runOnce();
    expect((await run(id)).state_name).toBe('Late');
    expect((await deliveryOf(id)).leased_until).toEqual(leased_until);
    await scheduler.dispatcher.dispatchDue();
    expect((await gw.post(`/work_pools/${pool.name}/get_scheduled_flow_runs`, {})).body).toEqual([]);
    expect((await gw.post(`/flow_runs/${id}/set_state`, { state: { type: 'PENDING' } })).body.status).toBe('ACCEPT');
    expect((await deliveryOf(id)).leased_until).toBeNull();
  });

  it('a run whose holder let its lease run out is marked Late and delivered again', async () => {
    const { pool, id } = await publishedRun(60);
    expect((await gw.post(`/work_pools/${pool.name}/get_scheduled_flow_runs`, {})).body).toHaveLength(1);
    const { leased_until } = await deliveryOf(id);
    await lateRuns.runOnce(new Date(leased_until.getTime() + 1));
    expect((await run(id)).state_name).toBe('Late');
    // DELIVERY_LEASE_SECONDS is 2 here: once it has passed, the dispatcher publishes the Late run again.
    const polled = await eventually(
      'the run delivered again',
      async () => {
        const response = await gw.post(`/work_pools/${pool.name}/get_scheduled_flow_runs`, {});
        return response.body.length > 0 && response.body;
      },
      10_000,
    );
    expect(polled.map((entry: { flow_run: { id: string; state_name: string } }) => entry.flow_run)).toEqual([
      expect.objectContaining({ id, state_name: 'Late' }),
    ]);
  });

  it('works through more overdue runs than one batch (400)', async () => {
    expect((await gw.post('/work_pools/', { name: 'backlog', type: 'process' })).status).toBe(201);
    const ids = await copiesOf(await scheduledRun(ago(120), undefined, 'backlog'), 420);
    expect(await lateRuns.runOnce()).toBeGreaterThanOrEqual(420);
    const [{ late }] = await sql(
      gw,
      `SELECT count(*)::int AS late FROM flow_run WHERE id = ANY($1) AND state_name = 'Late'`,
      [ids],
    );
    expect(late).toBe(420);
  }, 20_000);

  it('two schedulers marking at once give each run exactly one Late state', async () => {
    expect((await gw.post('/work_pools/', { name: 'replicas', type: 'process' })).status).toBe(201);
    const ids = await Promise.all(Array.from({ length: 60 }, () => scheduledRun(ago(120), undefined, 'replicas')));
    const replica = await TestScheduler.start(gw.config);
    try {
      const other = replica.app.get(LateRunsService);
      const lateStatesInDatabase = async () =>
        (await sql(gw, `SELECT count(*)::int AS n FROM flow_run_state WHERE name = 'Late'`))[0].n as number;
      const before = await lateStatesInDatabase();
      const marked = await Promise.all([lateRuns.runOnce(), other.runOnce(), lateRuns.runOnce(), other.runOnce()]);
      // What the passes report is what they wrote: no run was counted by two of them.
      expect(marked.reduce((sum, count) => sum + count, 0)).toBe((await lateStatesInDatabase()) - before);
      const counts = await sql<{ lates: number }>(
        gw,
        `SELECT count(*) FILTER (WHERE s.name = 'Late')::int AS lates FROM flow_run_state s WHERE s.flow_run_id = ANY($1) GROUP BY s.flow_run_id`,
        [ids],
      );
      expect(counts).toHaveLength(60);
      expect(counts.every((row) => row.lates === 1)).toBe(true);
    } finally {
      await replica.stop();
    }
  }, 20_000);

  it('on its own loop, and after a restart, decides from the database alone', async () => {
    expect((await gw.post('/work_pools/', { name: 'looping', type: 'process' })).status).toBe(201);
    const looping = { ...gw.config, lateRuns: { ...gw.config.lateRuns, enabled: true, loopSeconds: 0.1 } };
    const lateStates = async (id: string) => (await history(id)).filter((state) => state.name === 'Late').length;

    const first = await TestScheduler.start(looping);
    const early = await scheduledRun(ago(30), undefined, 'looping');
    try {
      await eventually('the first run Late', async () => (await lateStates(early)) === 1);
    } finally {
      await first.stop();
    }

    const later = await scheduledRun(ago(30), undefined, 'looping');
    const second = await TestScheduler.start(looping);
    try {
      await eventually('the second run Late', async () => (await lateStates(later)) === 1);
      // A run that comes due while it runs is marked on a later pass.
      const upcoming = await scheduledRun(ago(14), undefined, 'looping');
      await eventually('the upcoming run Late', async () => (await lateStates(upcoming)) === 1, 5000);
      expect(await lateStates(early)).toBe(1);
    } finally {
      await second.stop();
    }
  });
});
