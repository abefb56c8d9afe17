import { TestGateway } from '../support/gateway';

/**
 * Issue 10: hostile values a client can send. Each is refused as Prefect's pydantic refuses a bad value (422 with
 * Prefect's validation body) or, where Prefect itself would fail in the database, with the nearest such 4xx; none
 * may reach Postgres and come back as a 5xx.
 */
describe('bad input answers 4xx, never 5xx', () => {
  let gw: TestGateway;
  let flowId: string;
  let deploymentId: string;
  let runId: string;

  beforeAll(async () => {
    gw = await TestGateway.start();
    await gw.post('/work_pools/', { name: 'pool', type: 'process' });
    flowId = (await gw.post('/flows/', { name: 'flow' })).body.id;
    deploymentId = (await gw.post('/deployments/', { name: 'dep', flow_id: flowId, work_pool_name: 'pool' })).body.id;
    runId = (await gw.post(`/deployments/${deploymentId}/create_flow_run`, {})).body.id;
  });
  afterAll(() => gw.stop());

  const NUL = 'a\u0000b';
  const LONE_SURROGATE = 'x\ud800y';
  const nul = {
    type: 'value_error',
    msg: 'Value error, String must not contain the NUL character (\\u0000)',
    input: NUL,
  };
  const unicode = {
    type: 'string_unicode',
    msg: 'Input should be a valid string, unable to parse raw data as a unicode string',
    input: LONE_SURROGATE,
  };
  const int32 = (input: number) => ({
    type: 'less_than_equal',
    msg: 'Input should be less than or equal to 2147483647',
    input,
    ctx: { le: 2147483647 },
  });

  /** [case, method, path, body, the one pydantic error expected (its loc after "body")] */
  const refused: [string, string, string, () => unknown, (string | number)[], object][] = [
    ['a NUL byte in a flow name', 'POST', '/flows/', () => ({ name: NUL }), ['name'], nul],
    ['a NUL byte in a work pool name', 'POST', '/work_pools/', () => ({ name: NUL }), ['name'], nul],
    ['a NUL byte in a tag', 'POST', '/flow_runs/', () => ({ flow_id: flowId, tags: [NUL] }), ['tags', 0], nul],
    [
      'a NUL byte in a name filter',
      'POST',
      '/flows/filter',
      () => ({ flows: { name: { any_: [NUL] } } }),
      ['flows', 'name', 'any_', 0],
      nul,
    ],
    [
      'a NUL byte in a tag filter',
      'POST',
      '/flow_runs/filter',
      () => ({ flow_runs: { tags: { all_: [NUL] } } }),
      ['flow_runs', 'tags', 'all_', 0],
      nul,
    ],
    [
      'a NUL byte in a parameter',
      'POST',
      '/flow_runs/',
      () => ({ flow_id: flowId, parameters: { x: NUL } }),
      ['parameters', 'x'],
      nul,
    ],
    [
      'a NUL byte in a parameter name',
      'POST',
      '/flow_runs/',
      () => ({ flow_id: flowId, parameters: { [NUL]: 1 } }),
      ['parameters', NUL],
      { ...nul, input: NUL },
    ],
    [
      'a NUL byte in a state message',
      'POST',
      '/flow_runs/{run}/set_state',
      () => ({ state: { type: 'RUNNING', message: NUL } }),
      ['state', 'message'],
      nul,
    ],
    [
      'a lone surrogate in parameters',
      'POST',
      '/flow_runs/',
      () => ({ flow_id: flowId, parameters: { x: LONE_SURROGATE } }),
      ['parameters', 'x'],
      unicode,
    ],
    ['a lone surrogate in a name', 'POST', '/flows/', () => ({ name: LONE_SURROGATE }), ['name'], unicode],
    [
      'a queue priority of 2^31',
      'POST',
      '/work_pools/pool/queues/',
      () => ({ name: 'q', priority: 2 ** 31 }),
      ['priority'],
      int32(2 ** 31),
    ],
    [
      'a queue concurrency limit of 2^31',
      'POST',
      '/work_pools/pool/queues/',
      () => ({ name: 'q', concurrency_limit: 2 ** 31 }),
      ['concurrency_limit'],
      int32(2 ** 31),
    ],
    [
      'a pool concurrency limit of 2^31',
      'PATCH',
      '/work_pools/pool',
      () => ({ concurrency_limit: 2 ** 31 }),
      ['concurrency_limit'],
      int32(2 ** 31),
    ],
    [
      'a log level of 2^31',
      'POST',
      '/logs/',
      () => [{ name: 'l', level: 2 ** 31, message: 'm', timestamp: new Date().toISOString(), flow_run_id: runId }],
      [0, 'level'],
      int32(2 ** 31),
    ],
    [
      'a heartbeat interval of 2^31',
      'POST',
      '/work_pools/pool/workers/heartbeat',
      () => ({ name: 'w', heartbeat_interval_seconds: 2 ** 31 }),
      ['heartbeat_interval_seconds'],
      int32(2 ** 31),
    ],
    [
      'an offset of 1e308',
      'POST',
      '/flows/filter',
      () => ({ offset: 1e308 }),
      ['offset'],
      {
        type: 'less_than_equal',
        msg: `Input should be less than or equal to ${Number.MAX_SAFE_INTEGER}`,
        input: 1e308,
      },
    ],
    [
      'a schedule {"rrule": {}}',
      'POST',
      '/deployments/{deployment}/schedules',
      () => [{ schedule: { rrule: {} } }],
      [0, 'schedule', 'rrule'],
      { type: 'string_type', input: {} },
    ],
    [
      'a schedule {"rrule": {}} on a new deployment',
      'POST',
      '/deployments/',
      () => ({ name: 'd2', flow_id: flowId, schedules: [{ schedule: { rrule: {} } }] }),
      ['schedules', 0, 'schedule', 'rrule'],
      { type: 'string_type', input: {} },
    ],
    [
      'a schedule {"cron": []}',
      'POST',
      '/deployments/{deployment}/schedules',
      () => [{ schedule: { cron: [] } }],
      [0, 'schedule', 'cron'],
      { type: 'string_type', input: [] },
    ],
  ];

  const url = (path: string) => path.replace('{deployment}', deploymentId).replace('{run}', runId);

  it.each(refused)('%s: %s %s answers 422 with the offending value', async (_case, method, path, body, loc, error) => {
    const response = await gw.request(method, url(path), body());
    expect(response.status).toBe(422);
    expect(response.body).toMatchObject({
      exception_message: 'Invalid request received.',
      exception_detail: [{ ...error, loc: ['body', ...loc] }],
    });
    expect(response.body.exception_detail).toHaveLength(1);
  });

  it('a limit of 2^31 answers what Prefect answers: its limit check, 422', async () => {
    const response = await gw.post('/flows/filter', { limit: 2 ** 31 });
    expect(response).toMatchObject({
      status: 422,
      body: { detail: 'Invalid limit: must be less than or equal to 200.' },
    });
  });

  it('an offset of 2^31 is a valid offset past the end, as in Prefect', async () => {
    const response = await gw.post('/flow_runs/filter', { offset: 2 ** 31 });
    expect(response).toMatchObject({ status: 200, body: [] });
  });

  it('JSON nested 10,000 deep answers 400, as FastAPI does when its JSON parser gives up', async () => {
    for (const body of [
      '['.repeat(10_000) + ']'.repeat(10_000),
      `{"flow_id":"${flowId}","parameters":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`,
    ]) {
      const response = await gw.request('POST', '/flow_runs/', body);
      expect(response).toMatchObject({ status: 400, body: { detail: 'There was an error parsing the body' } });
    }
  });

  it('parameters nested 900 deep are still accepted and stored', async () => {
    const parameters = JSON.parse('{"a":'.repeat(900) + '1' + '}'.repeat(900));
    const response = await gw.post('/flow_runs/', { flow_id: flowId, parameters });
    expect(response.status).toBe(201);
    expect((await gw.get(`/flow_runs/${response.body.id}`)).body.parameters).toEqual(parameters);
  });

  it("a path parameter Postgres cannot take answers 422 (the exception filter's safety net), not 500", async () => {
    for (const path of [
      '/work_pools/a%00b',
      '/flows/name/a%00b',
      '/work_pools/pool/queues/a%00b',
      '/deployments/name/a%00b/b',
    ]) {
      const response = await gw.get(path);
      expect({ path, status: response.status, body: response.body }).toEqual({
        path,
        status: 422,
        body: { detail: 'Invalid request: a value cannot be stored.' },
      });
    }
  });
});
