import type { FlowRunEntity } from '@app/persistence';
import { expectOperation } from '../support/openapi';
import { TestGateway } from '../support/gateway';

const HOUR = 3600_000;

describe('deployment schedules API', () => {
  let gw: TestGateway;
  let flowId: string;

  beforeAll(async () => {
    gw = await TestGateway.start();
    flowId = (await gw.post('/flows/', { name: 'scheduled-flow' })).body.id;
  });
  afterAll(() => gw.stop());

  async function deployment(schedules: unknown[] = []): Promise<{ id: string; schedules: { id: string }[] }> {
    const response = await gw.post('/deployments/', { name: `d-${Math.random()}`, flow_id: flowId, schedules });
    expect(response.status).toBe(201);
    return response.body;
  }

  async function addSchedules(deploymentId: string, schedules: unknown[]) {
    const response = await gw.post(`/deployments/${deploymentId}/schedules`, schedules);
    expectOperation(response, 'POST', '/deployments/{id}/schedules', 201);
    return response.body;
  }

  const listSchedules = async (deploymentId: string) => (await gw.get(`/deployments/${deploymentId}/schedules`)).body;

  /** An auto-scheduled run (future) and one due an hour ago; resolves to a function naming the survivors. */
  async function autoScheduledRuns(deploymentId: string) {
    const insert = (start: number): Promise<FlowRunEntity> =>
      gw.db.repos.flowRuns.insert({
        name: `run-${Math.random()}`,
        flow_id: flowId,
        deployment_id: deploymentId,
        state_type: 'SCHEDULED',
        state_name: 'Scheduled',
        auto_scheduled: true,
        next_scheduled_start_time: new Date(start),
      });
    const runs = { future: await insert(Date.now() + HOUR), past: await insert(Date.now() - HOUR) };
    return async () => {
      const left: string[] = [];
      for (const [kind, row] of Object.entries(runs)) if (await gw.db.repos.flowRuns.findById(row.id)) left.push(kind);
      return left;
    };
  }

  describe('create and list', () => {
    it("creates each schedule type (201) with Prefect's defaults and lists them, most recently updated first", async () => {
      const { id } = await deployment();
      const created = await addSchedules(id, [
        {
          schedule: { interval: 3600, anchor_date: '2026-01-01 09:00:00+01:00', timezone: 'Europe/Paris' },
          slug: 'hourly',
          parameters: { n: 1 },
        },
        {
          schedule: { cron: '0 9 * * mon-fri', timezone: 'America/New_York', day_or: false },
          active: false,
          max_scheduled_runs: 10,
        },
        { schedule: { rrule: 'FREQ=DAILY;BYHOUR=9' } },
      ]);
      expect(created).toEqual([
        expect.objectContaining({
          deployment_id: id,
          active: true,
          max_scheduled_runs: null,
          parameters: { n: 1 },
          slug: 'hourly',
          schedule: { interval: 3600, anchor_date: '2026-01-01T09:00:00+01:00', timezone: 'Europe/Paris' },
        }),
        expect.objectContaining({
          active: false,
          max_scheduled_runs: 10,
          parameters: {},
          slug: null,
          schedule: { cron: '0 9 * * mon-fri', timezone: 'America/New_York', day_or: false },
        }),
        expect.objectContaining({
          schedule: { rrule: 'DTSTART:20200101T000000\nFREQ=DAILY;BYHOUR=9', timezone: 'UTC' },
        }),
      ]);

      await gw.patch(`/deployments/${id}/schedules/${created[1].id}`, { active: true });
      const listed = await gw.get(`/deployments/${id}/schedules`);
      expectOperation(listed, 'GET', '/deployments/{id}/schedules', 200);
      expect(listed.body).toHaveLength(3);
      expect(listed.body[0]).toMatchObject({ id: created[1].id, active: true });
    });

    it.each([
      ['seconds', 90, 90],
      ['fractional seconds', 0.5, 0.5],
      ['a numeric string', '90', 90],
      ['an ISO-8601 duration', 'P1DT2H', 93600],
      ['a clock duration', '01:30:00', 5400],
    ])('reads an interval given as %s, answering float seconds', async (_case, interval, seconds) => {
      const { id } = await deployment();
      const [created] = await addSchedules(id, [{ schedule: { interval } }]);
      expect(created.schedule).toMatchObject({ interval: seconds, timezone: 'UTC' });
      // No anchor given: now.
      expect(Math.abs(Date.parse(created.schedule.anchor_date) - Date.now())).toBeLessThan(60_000);
    });

    it('gives frequent rrules a recent phase-equivalent DTSTART and keeps an explicit one', async () => {
      const { id } = await deployment();
      const [frequent, anchored] = await addSchedules(id, [
        { schedule: { rrule: 'FREQ=MINUTELY;INTERVAL=15', timezone: 'Asia/Kolkata' } },
        { schedule: { rrule: 'DTSTART:20250101T120000\nRRULE:FREQ=HOURLY' } },
      ]);
      const [, dtstart] = /^DTSTART:(\d{8}T\d{6})\nFREQ=MINUTELY;INTERVAL=15$/.exec(frequent.schedule.rrule) ?? [];
      expect(dtstart).toMatch(/^\d{8}T\d{2}(00|15|30|45)00$/);
      expect(anchored.schedule.rrule).toBe('DTSTART:20250101T120000\nRRULE:FREQ=HOURLY');
    });

    it('409s a slug the deployment already uses and writes nothing', async () => {
      const { id } = await deployment([{ schedule: { interval: 60 }, slug: 'taken' }]);
      const response = await gw.post(`/deployments/${id}/schedules`, [
        { schedule: { interval: 5 }, slug: 'free' },
        { schedule: { interval: 5 }, slug: 'taken' },
      ]);
      expect(response).toMatchObject({
        status: 409,
        body: { detail: 'Schedule slugs must be unique within a deployment.' },
      });
      expect((await listSchedules(id)).map((s: { slug: string }) => s.slug)).toEqual(['taken']);
    });

    it("leaves the deployment's runs alone when adding schedules", async () => {
      const { id } = await deployment();
      const survivors = await autoScheduledRuns(id);
      await addSchedules(id, [{ schedule: { interval: 60 } }]);
      expect(await survivors()).toEqual(['future', 'past']);
    });
  });

  describe('update', () => {
    it('updates (204) the sent fields, resets parameters as Prefect does and drops future auto-scheduled runs', async () => {
      // Added through the schedules route: a schedule sent with the deployment loses its max_scheduled_runs.
      const { id } = await deployment();
      const schedules = await addSchedules(id, [
        { schedule: { interval: 60 }, parameters: { p: 1 }, slug: 's', max_scheduled_runs: 5 },
      ]);
      const survivors = await autoScheduledRuns(id);
      const response = await gw.patch(`/deployments/${id}/schedules/${schedules[0].id}`, {
        active: false,
        schedule: { cron: '*/5 * * * *' },
        max_scheduled_runs: null,
      });
      expect(response.status).toBe(204);
      expect(await listSchedules(id)).toEqual([
        expect.objectContaining({
          id: schedules[0].id,
          active: false,
          parameters: {},
          slug: 's',
          max_scheduled_runs: 5,
          schedule: { cron: '*/5 * * * *', timezone: null, day_or: true },
        }),
      ]);
      expect(await survivors()).toEqual(['past']);
    });

    it('409s a slug another schedule holds', async () => {
      const { id, schedules } = await deployment([
        { schedule: { interval: 60 }, slug: 'a' },
        { schedule: { interval: 60 }, slug: 'b' },
      ]);
      const target = schedules.find((s) => (s as { slug?: string }).slug === 'a') ?? schedules[0];
      expect((await gw.patch(`/deployments/${id}/schedules/${target.id}`, { slug: 'b' })).status).toBe(409);
      expect((await listSchedules(id)).map((s: { slug: string }) => s.slug).sort()).toEqual(['a', 'b']);
    });

    it("404s an unknown deployment or schedule with Prefect's texts", async () => {
      const { id } = await deployment();
      expect(await gw.patch(`/deployments/${crypto.randomUUID()}/schedules/${crypto.randomUUID()}`, {})).toMatchObject({
        status: 404,
        body: { detail: 'Deployment not found.' },
      });
      expect(await gw.patch(`/deployments/${id}/schedules/${crypto.randomUUID()}`, { active: true })).toMatchObject({
        status: 404,
        body: { detail: 'Schedule not found.' },
      });
    });
  });

  describe('delete', () => {
    it('deletes (204) and drops every waiting auto-scheduled run, past ones included', async () => {
      const { id, schedules } = await deployment([{ schedule: { interval: 60 } }]);
      const survivors = await autoScheduledRuns(id);
      expect((await gw.delete(`/deployments/${id}/schedules/${schedules[0].id}`)).status).toBe(204);
      expect(await listSchedules(id)).toEqual([]);
      expect(await survivors()).toEqual([]);
      expect(await gw.delete(`/deployments/${id}/schedules/${schedules[0].id}`)).toMatchObject({
        status: 404,
        body: { detail: 'Schedule not found.' },
      });
    });

    it("does not delete another deployment's schedule", async () => {
      const owner = await deployment([{ schedule: { interval: 60 } }]);
      const other = await deployment();
      expect((await gw.delete(`/deployments/${other.id}/schedules/${owner.schedules[0].id}`)).status).toBe(404);
      expect(await listSchedules(owner.id)).toHaveLength(1);
    });
  });

  describe('bad input', () => {
    let deploymentId: string;
    beforeAll(async () => {
      deploymentId = (await deployment()).id;
    });

    async function expectRefused(schedules: unknown, loc: (string | number)[], msg?: string | RegExp) {
      const response = await gw.post(`/deployments/${deploymentId}/schedules`, schedules);
      expect(response.status).toBe(422);
      expect(response.body).toMatchObject({ exception_message: 'Invalid request received.', request_body: schedules });
      const detail = response.body.exception_detail.find(
        (d: { loc: unknown }) => JSON.stringify(d.loc) === JSON.stringify(loc),
      );
      expect(detail).toBeDefined();
      if (msg) expect(detail.msg).toMatch(msg);
      expect(await listSchedules(deploymentId)).toEqual([]);
    }

    it.each([
      '0 0 * * *',
      '*/15 * * * *',
      '0 9-17/2 * * 1-5',
      '0 0 1,15 * *',
      '0 0 L * *',
      '0 0 * * mon#2',
      '0 0 * * L5',
      '0 0 ? * sun',
      '0 0 1 jan-mar *',
      '@daily',
      '@hourly',
      '0 0 * * 7',
      '30 2 * * fri-mon',
      '0 0 * * * 30',
      '0 0 1 1 * 0 2030',
    ])('accepts the cron string %p', async (cron) => {
      const { id } = await deployment();
      await addSchedules(id, [{ schedule: { cron } }]);
    });

    it.each([
      ['61 * * * *', 'Invalid cron string'],
      ['* * * *', 'Invalid cron string'],
      ['0 24 * * *', 'Invalid cron string'],
      ['0 0 32 * *', 'Invalid cron string'],
      ['0 0 * 13 *', 'Invalid cron string'],
      ['0 0 * * 8', 'Invalid cron string'],
      ['*/0 * * * *', 'Invalid cron string'],
      ['-1 * * * *', 'Invalid cron string'],
      ['0 0 * * mon#6', 'Invalid cron string'],
      ['0 0 * foo *', 'Invalid cron string'],
      ['0 ? * * *', 'Invalid cron string'],
      ['0 0 * * 2,mon#2', 'Invalid cron string'],
      // Prefect 3.9.1: croniter refuses a hashed `H` outright; a random `R` passes it and is refused by Prefect.
      ['H * * * *', 'Invalid cron string'],
      ['0 R * * *', 'Random and Hashed expressions are unsupported'],
      ['R * * * *', 'Random and Hashed expressions are unsupported'],
      ['0 0 1 1 * 0 R', 'Random and Hashed expressions are unsupported'],
      ['H/5 * * * *', 'Invalid cron string'],
      ['@often', 'Invalid cron string'],
    ])('refuses the cron string %p', async (cron, msg) => {
      await expectRefused(
        [{ schedule: { cron } }],
        ['body', 0, 'schedule', 'cron'],
        new RegExp(`^Value error, ${msg}`),
      );
    });

    it.each([
      [{ interval: 0 }, 'interval', 'Value error, interval must be positive'],
      [{ interval: -60 }, 'interval', 'Value error, interval must be positive'],
      [{ interval: 'soon' }, 'interval', 'Input should be a valid timedelta'],
      [{ interval: 60, timezone: 'Mars/Olympus' }, 'timezone', /Invalid timezone: "Mars\/Olympus"/],
      [{ interval: 60, anchor_date: 'yesterday' }, 'anchor_date', 'Value error, Unable to parse string [yesterday]'],
      [{ interval: 60, every: 'day' }, 'every', 'Extra inputs are not permitted'],
      [{ cron: '* * * * *', timezone: 'utc' }, 'timezone', /Invalid timezone/],
      [
        { cron: '* * * * *', day_or: 'sometimes' },
        'day_or',
        'Input should be a valid boolean, unable to interpret input',
      ],
      [{ rrule: 'FREQ=SOMETIMES' }, 'rrule', /^Value error, Invalid RRule string "FREQ=SOMETIMES"/],
      [{ rrule: 'INTERVAL=2' }, 'rrule', /Invalid RRule string/],
      [{ rrule: 'FREQ=DAILY;UNTIL=20300101T000000Z' }, 'rrule', /UNTIL values must be specified in UTC/],
      [{ rrule: `FREQ=DAILY;BYHOUR=${'1,'.repeat(3300)}1` }, 'rrule', /Max length is 6500/],
      [{ rrule: 'FREQ=DAILY', timezone: 'Nowhere/Town' }, 'timezone', /Invalid timezone/],
      [{ nothing: true }, 'interval', 'Field required'],
    ])('refuses the schedule %#', async (schedule, field, msg) => {
      await expectRefused([{ schedule }], ['body', 0, 'schedule', field], msg);
    });

    it.each([
      [
        { schedule: { interval: 60 }, max_scheduled_runs: 51 },
        'max_scheduled_runs',
        'Value error, `max_scheduled_runs` must be less than or equal to 50.',
      ],
      [{ schedule: { interval: 60 }, max_scheduled_runs: 0 }, 'max_scheduled_runs', 'Input should be greater than 0'],
      [{ schedule: { interval: 60 }, parameters: [1] }, 'parameters', 'Input should be a valid dictionary'],
      [{ schedule: { interval: 60 }, colour: 'red' }, 'colour', 'Extra inputs are not permitted'],
      [
        { schedule: [{ interval: 60 }] },
        'schedule',
        'Input should be a valid dictionary or instance of IntervalSchedule',
      ],
      [{ active: true }, 'schedule', 'Field required'],
    ])('refuses the schedule entry %j', async (entry, field, msg) => {
      await expectRefused([entry], ['body', 0, field], msg);
    });

    it('refuses a body that is not a list', async () => {
      const response = await gw.post(`/deployments/${deploymentId}/schedules`, { schedule: { interval: 60 } });
      expect(response.status).toBe(422);
      expect(response.body.exception_detail).toEqual([expect.objectContaining({ type: 'list_type', loc: ['body'] })]);
    });

    it('refuses a bad update and keeps the schedule', async () => {
      const { id, schedules } = await deployment([{ schedule: { interval: 60 } }]);
      for (const body of [{ schedule: { cron: 'nope' } }, { active: 'maybe' }, { replaced: 'x' }]) {
        const response = await gw.patch(`/deployments/${id}/schedules/${schedules[0].id}`, body);
        expect(response.status).toBe(422);
      }
      expect(await listSchedules(id)).toEqual(schedules);
    });

    it('404s a deployment that does not exist', async () => {
      const missing = crypto.randomUUID();
      expect(await gw.get(`/deployments/${missing}/schedules`)).toMatchObject({
        status: 404,
        body: { detail: 'Deployment not found.' },
      });
      expect(await gw.post(`/deployments/${missing}/schedules`, [{ schedule: { interval: 5 } }])).toMatchObject({
        status: 404,
        body: { detail: 'Deployment not found.' },
      });
      expect(await gw.delete(`/deployments/${missing}/schedules/${crypto.randomUUID()}`)).toMatchObject({
        status: 404,
        body: { detail: 'Deployment not found.' },
      });
    });

    it.each([
      ['GET', '/deployments/nope/schedules'],
      ['POST', '/deployments/nope/schedules'],
      ['PATCH', `/deployments/${'0'.repeat(8)}-0000-0000-0000-${'0'.repeat(12)}/schedules/nope`],
      ['DELETE', '/deployments/nope/schedules/also-nope'],
    ])('answers %s %s with 404 Not Found, as a route that does not match', async (method, url) => {
      const body = method === 'POST' ? [] : method === 'PATCH' ? {} : undefined;
      expect(await gw.request(method, url, body)).toMatchObject({ status: 404, body: { detail: 'Not Found' } });
    });
  });
});
