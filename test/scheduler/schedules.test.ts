import { emptyStateDetails } from '@app/domain';
import { RecentDeploymentsSchedulerService } from '../../apps/scheduler/src/schedules/recent-deployments-scheduler.service';
import { SchedulerService } from '../../apps/scheduler/src/schedules/scheduler.service';
import { expectOperation } from '../support/openapi';
import { TestGateway } from '../support/gateway';
import { TestScheduler } from '../support/scheduler';
import { eventually, sql } from './helpers';

const MINUTE = 60_000;

/** The scheduler service: deployment schedules become SCHEDULED runs, once each, however many replicas run. */
describe('deployment schedules → scheduled runs', () => {
  let gw: TestGateway;
  let scheduler: TestScheduler;
  let main: SchedulerService;
  let recent: RecentDeploymentsSchedulerService;
  let flowId: string;

  beforeAll(async () => {
    // Loops off: each test runs the passes itself.
    gw = await TestGateway.start({ FOREMAN_ENABLED: 'false', LATE_RUNS_ENABLED: 'false', SCHEDULER_ENABLED: 'false' });
    scheduler = await TestScheduler.start(gw.config);
    main = scheduler.app.get(SchedulerService);
    recent = scheduler.app.get(RecentDeploymentsSchedulerService);
    flowId = (await gw.post('/flows/', { name: 'scheduled' })).body.id;
    expect((await gw.post('/work_pools/', { name: 'sched-pool', type: 'process' })).status).toBe(201);
  });
  afterAll(async () => {
    await scheduler.stop();
    await gw.stop();
  });

  async function deployment(body: Record<string, unknown>): Promise<{ id: string; schedules: { id: string }[] }> {
    const response = await gw.post('/deployments/', {
      name: `d-${Math.random()}`,
      flow_id: flowId,
      work_pool_name: 'sched-pool',
      ...body,
    });
    expect(response.status).toBe(201);
    return response.body;
  }

  const runsOf = (deploymentId: string) =>
    sql<{
      id: string;
      idempotency_key: string;
      next_scheduled_start_time: Date;
      parameters: Record<string, unknown>;
      auto_scheduled: boolean;
    }>(
      gw,
      `SELECT id, idempotency_key, next_scheduled_start_time, parameters, auto_scheduled FROM flow_run
        WHERE deployment_id = $1 ORDER BY next_scheduled_start_time`,
      [deploymentId],
    );

  it('creates each run as Prefect does, with its Scheduled state, and a second pass creates nothing', async () => {
    const anchor = new Date(Date.now() + 1000).toISOString();
    const d = await deployment({
      tags: ['nightly'],
      parameters: { a: 1, b: 'deployment' },
      version: '7',
      labels: { team: 'data' },
      schedules: [
        {
          schedule: { interval: 3600, anchor_date: anchor, timezone: 'America/New_York' },
          parameters: { b: 'schedule' },
          slug: 'hourly',
        },
      ],
    });
    const first = await main.runOnce();
    expect(first.inserted).toBeGreaterThanOrEqual(3);
    const runs = await runsOf(d.id);
    expect(runs).toHaveLength(3);
    const scheduleId = d.schedules[0].id;
    const read = await gw.get(`/flow_runs/${runs[0].id}`);
    expectOperation(read, 'GET', '/flow_runs/{id}', 200);
    const starts = [0, 1, 2].map((k) => new Date(Date.parse(anchor) + k * 3600_000));
    expect(read.body).toMatchObject({
      flow_id: flowId,
      deployment_id: d.id,
      deployment_version: '7',
      auto_scheduled: true,
      parameters: { a: 1, b: 'schedule' },
      tags: ['auto-scheduled', 'nightly'],
      labels: { team: 'data', 'prefect.flow.id': flowId, 'prefect.deployment.id': d.id },
      created_by: { id: scheduleId, type: 'SCHEDULE', display_value: 'hourly' },
      work_queue_name: 'default',
      state_type: 'SCHEDULED',
      state_name: 'Scheduled',
      state: { type: 'SCHEDULED', name: 'Scheduled', message: 'Flow run scheduled' },
    });
    expect(new Date(read.body.next_scheduled_start_time)).toEqual(starts[0]);
    expect(new Date(read.body.expected_start_time)).toEqual(starts[0]);
    expect(runs.map((run) => run.next_scheduled_start_time)).toEqual(starts);
    expect(new Date(read.body.state.state_details.scheduled_time)).toEqual(starts[0]);
    // Kept in the schedule's zone, as Prefect's scheduler stores it (the idempotency key's date, ISO-formatted).
    const zoned = runs[0].idempotency_key.split(' ').slice(3).join('T');
    expect(read.body.state.state_details.scheduled_time).toBe(zoned);
    expect(zoned).toMatch(/-0[45]:00$/);
    // The stored details hold only the scheduled time; the API still answers with every one of Prefect's fields.
    expect(read.body.state.state_details).toMatchObject({
      deferred: false,
      untrackable_result: false,
      pause_reschedule: false,
      cache_key: null,
      pause_key: null,
      deployment_concurrency_lease_id: null,
      transition_id: null,
    });
    expect(Object.keys(read.body.state.state_details)).toHaveLength(Object.keys(emptyStateDetails()).length);
    // Python's str() of the date in the schedule's zone (New York is at -04:00 or -05:00).
    expect(runs[0].idempotency_key).toMatch(
      new RegExp(`^scheduled ${d.id} ${scheduleId} \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{6}-0[45]:00$`),
    );
    const history = await gw.db.repos.flowRunStates.historyOf(runs[0].id);
    expect(history).toHaveLength(1);

    expect((await main.runOnce()).inserted).toBe(0);
    expect((await recent.runOnce()).inserted).toBe(0);
    expect(await runsOf(d.id)).toHaveLength(3);
  });

  it('keeps deployments that need nothing out of the main pass entirely', async () => {
    // Judged as of the pass's start: a moment later, a run landing just past "now + 1 h" would no longer be past it.
    const passStart = new Date();
    await main.runOnce();
    const needing = await gw.db.repos.scheduler.deploymentsNeedingRuns(passStart, 3, 3600, null, 1000);
    expect(needing).toEqual([]);
  });

  it('skips paused deployments and inactive schedules', async () => {
    const paused = await deployment({ paused: true, schedules: [{ schedule: { interval: 600 } }] });
    const inactive = await deployment({ schedules: [{ schedule: { interval: 600 }, active: false }] });
    await main.runOnce();
    await recent.runOnce();
    expect(await runsOf(paused.id)).toEqual([]);
    expect(await runsOf(inactive.id)).toEqual([]);
  });

  it('an update drops the future auto-scheduled runs and the next pass makes them anew with the new values', async () => {
    const d = await deployment({
      parameters: { v: 1 },
      schedules: [{ schedule: { cron: '*/10 * * * *', timezone: 'Europe/London' } }],
    });
    await recent.runOnce();
    const before = await runsOf(d.id);
    expect(before.length).toBeGreaterThanOrEqual(6);
    // An overdue auto-scheduled run and a manual one: an update keeps both.
    await sql(gw, `UPDATE flow_run SET next_scheduled_start_time = now() - interval '1 hour' WHERE id = $1`, [
      before[0].id,
    ]);
    const manual = (
      await gw.post(`/deployments/${d.id}/create_flow_run`, {
        state: {
          type: 'SCHEDULED',
          state_details: { scheduled_time: new Date(Date.now() + 30 * MINUTE).toISOString() },
        },
      })
    ).body.id;

    expect((await gw.patch(`/deployments/${d.id}`, { parameters: { v: 2 } })).status).toBe(204);
    const left = await runsOf(d.id);
    expect(left.map((run) => run.id).sort()).toEqual([before[0].id, manual].sort());

    await recent.runOnce();
    const after = (await runsOf(d.id)).filter((run) => run.auto_scheduled && run.id !== before[0].id);
    expect(after.length).toBeGreaterThanOrEqual(6);
    expect(after.every((run) => run.parameters.v === 2)).toBe(true);

    // Pausing drops every auto-scheduled run, the overdue one too; passes then leave the deployment alone.
    await gw.post(`/deployments/${d.id}/pause_deployment`);
    expect((await runsOf(d.id)).map((run) => run.id)).toEqual([manual]);
    await main.runOnce();
    await recent.runOnce();
    expect((await runsOf(d.id)).map((run) => run.id)).toEqual([manual]);

    await gw.post(`/deployments/${d.id}/resume_deployment`);
    await recent.runOnce();
    expect((await runsOf(d.id)).length).toBeGreaterThan(1);
  });

  it('changing one schedule drops only future auto-scheduled runs; deleting one drops every auto-scheduled run', async () => {
    const d = await deployment({
      schedules: [{ schedule: { interval: 1200 } }, { schedule: { rrule: 'FREQ=MINUTELY;INTERVAL=30' } }],
    });
    await main.runOnce();
    const runs = await runsOf(d.id);
    expect(runs.length).toBeGreaterThanOrEqual(6);
    await sql(gw, `UPDATE flow_run SET next_scheduled_start_time = now() - interval '1 minute' WHERE id = $1`, [
      runs[0].id,
    ]);
    expect((await gw.patch(`/deployments/${d.id}/schedules/${d.schedules[0].id}`, { active: true })).status).toBe(204);
    expect((await runsOf(d.id)).map((run) => run.id)).toEqual([runs[0].id]);
    await recent.runOnce(); // a change to a schedule alone is picked up by the fast loop
    expect((await runsOf(d.id)).length).toBeGreaterThanOrEqual(7);
    expect((await gw.delete(`/deployments/${d.id}/schedules/${d.schedules[1].id}`)).status).toBe(204);
    expect(await runsOf(d.id)).toEqual([]);
  });

  it('two schedulers racing over 500 deployments create every run once', async () => {
    const second = await TestScheduler.start(gw.config);
    try {
      const queueId = (await gw.get('/work_pools/sched-pool')).body.default_queue_id;
      const anchor = new Date(Date.now() + 1000).toISOString();
      await sql(
        gw,
        `WITH d AS (
           INSERT INTO deployment (name, flow_id, work_queue_id, work_queue_name, tags, parameters, labels)
           SELECT 'race-' || g, $1, $2, 'default', '[]', '{}', '{}' FROM generate_series(1, 500) AS g RETURNING id)
         INSERT INTO deployment_schedule (deployment_id, schedule)
         SELECT id, jsonb_build_object('interval', 300, 'anchor_date', $3::text, 'timezone', 'UTC') FROM d`,
        [flowId, queueId, anchor],
      );
      const racedAt = new Date();
      const passes = await Promise.all([
        main.runOnce(),
        second.app.get(SchedulerService).runOnce(),
        recent.runOnce(),
        second.app.get(RecentDeploymentsSchedulerService).runOnce(),
      ]);
      const [{ runs, keys, deployments, fewest, most }] = await sql(
        gw,
        `SELECT count(*)::int AS runs, count(DISTINCT idempotency_key)::int AS keys, count(DISTINCT deployment_id)::int AS deployments,
                min(n)::int AS fewest, max(n)::int AS most
           FROM (SELECT idempotency_key, deployment_id, count(*) OVER (PARTITION BY deployment_id) AS n
                   FROM flow_run fr JOIN deployment d ON d.id = fr.deployment_id WHERE d.name LIKE 'race-%') AS x`,
      );
      expect(deployments).toBe(500);
      expect(keys).toBe(runs);
      // 5-minute intervals anchored a second ahead: 13 runs each (Prefect's table), give or take one at a boundary.
      expect(fewest).toBeGreaterThanOrEqual(13);
      expect(most).toBeLessThanOrEqual(14);
      // Every insert the passes counted is a row (they may also have topped up earlier tests' deployments).
      expect(passes.reduce((sum, pass) => sum + pass.inserted, 0)).toBeGreaterThanOrEqual(runs);
      // As of when the passes began, no deployment of the race needs a run any more.
      const raced = new Set(
        (await sql<{ id: string }>(gw, `SELECT id FROM deployment WHERE name LIKE 'race-%'`)).map((row) => row.id),
      );
      const missing = await gw.db.repos.scheduler.deploymentsNeedingRuns(racedAt, 3, 3600, null, 10_000);
      expect(missing.filter((id) => raced.has(id))).toEqual([]);
    } finally {
      await second.stop();
    }
  });

  it('a run the scheduler creates due soon reaches the bus and a worker poll', async () => {
    const d = await deployment({
      schedules: [{ schedule: { interval: 60, anchor_date: new Date(Date.now() + 3000).toISOString() } }],
    });
    await recent.runOnce();
    const [first] = await runsOf(d.id);
    expect(first.next_scheduled_start_time.getTime()).toBeLessThan(Date.now() + 5000);
    const polled = await eventually('the scheduled run in a poll', async () => {
      const response = await gw.post('/work_pools/sched-pool/get_scheduled_flow_runs', {
        scheduled_before: new Date(Date.now() + 10_000).toISOString(),
      });
      return (response.body as { flow_run: { id: string } }[]).find((entry) => entry.flow_run.id === first.id);
    });
    expect(polled.flow_run.id).toBe(first.id);
  });
});
