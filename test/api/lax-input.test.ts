import { TestGateway, TestResponse } from '../support/gateway';

/*
 * Issue 12: input as Prefect's server (FastAPI + pydantic v2, lax mode) takes it. Every expected answer below was
 * taken from Prefect 3.9.1's own server (`prefect server start` on Postgres), sent the same request with curl.
 */

const invalid = (detail: object[], requestBody: unknown) => ({
  exception_message: 'Invalid request received.',
  exception_detail: detail,
  request_body: requestBody,
});

describe('input the way pydantic takes it', () => {
  let gw: TestGateway;
  let flowId: string;
  let runId: string;

  beforeAll(async () => {
    gw = await TestGateway.start();
    expect((await gw.post('/work_pools/', { name: 'pool1', type: 'process' })).status).toBe(201);
    flowId = (await gw.post('/flows/', { name: 'f1' })).body.id;
    runId = (await gw.post('/flow_runs/', { flow_id: flowId })).body.id;
  });
  afterAll(() => gw.stop());

  /** A request with exactly these headers (TestGateway's helpers always add a JSON content type). */
  async function send(
    method: string,
    url: string,
    payload?: string,
    headers: Record<string, string> = {},
  ): Promise<TestResponse> {
    const response = await gw.app.inject({ method: method as 'POST', url: `/api${url}`, payload, headers });
    let body: unknown;
    try {
      body = response.body === '' ? undefined : JSON.parse(response.body);
    } catch {
      body = response.body;
    }
    return { status: response.statusCode, body, text: response.body, headers: response.headers };
  }

  const POLL = '/work_pools/pool1/get_scheduled_flow_runs';

  describe('lax conversions (pydantic v2 conversion table, JSON input)', () => {
    it.each<[string, string, unknown]>([
      ['limit: true (bool as int)', POLL, { limit: true }],
      ['limit: "2" (numeric string as int)', POLL, { limit: '2' }],
      ['scheduled_before in epoch seconds', POLL, { scheduled_before: 1700000000 }],
      ['scheduled_before in epoch milliseconds', POLL, { scheduled_before: 1700000000000 }],
      ['scheduled_after as an epoch-seconds string', POLL, { scheduled_after: '1700000000' }],
      ['limit and offset as strings', '/flow_runs/filter', { limit: '2', offset: '0' }],
      [
        'an uppercase UUID without dashes',
        '/flow_runs/filter',
        { flow_runs: { id: { any_: ['0F2A6A3C1B2D4E5F8A9B0C1D2E3F4A5B'] } } },
      ],
      [
        'a date-time filter in epoch seconds',
        '/flow_runs/filter',
        { flow_runs: { expected_start_time: { before_: 1 } } },
      ],
    ])('accepts %s, as Prefect does (200)', async (_case, url, body) => {
      const response = await gw.post(url, body);
      expect(response.status).toBe(200);
      expect(Array.isArray(response.body)).toBe(true);
    });

    it('reads the converted values: an epoch bound and a string limit select what their typed forms select', async () => {
      const created = await gw.post('/flow_runs/', { flow_id: flowId, name: 'epoch-check' });
      const filter = (before: unknown) =>
        gw.post('/flow_runs/filter', {
          flow_runs: { name: { any_: ['epoch-check'] }, expected_start_time: { before_: before } },
        });
      expect((await filter(1)).body).toEqual([]);
      expect(
        (await filter(String(Math.floor(Date.now() / 1000) + 3600))).body.map((r: { id: string }) => r.id),
      ).toEqual([created.body.id]);
      const limited = await gw.post('/flows/filter', { limit: '1' });
      expect(limited.body).toHaveLength(1);
    });

    it.each([['yes'], ['on'], ['Y'], [1], ['true']])('set_state accepts force: %p (bool parsing)', async (force) => {
      const response = await gw.post(`/flow_runs/${runId}/set_state`, { state: { type: 'SCHEDULED' }, force });
      expect(response.status).toBe(201);
      expect(response.body.status).toBe('ACCEPT');
    });

    it('a bound is checked on the converted value and reports what was sent ("-1")', async () => {
      const response = await gw.post('/work_pools/', { name: 'p', concurrency_limit: '-1' });
      expect(response).toMatchObject({
        status: 422,
        body: invalid(
          [
            {
              type: 'greater_than_equal',
              loc: ['body', 'concurrency_limit'],
              msg: 'Input should be greater than or equal to 0',
              input: '-1',
              ctx: { ge: 0 },
            },
          ],
          { name: 'p', concurrency_limit: '-1' },
        ),
      });
      expect(await gw.post(POLL, { limit: '-1' })).toMatchObject({
        status: 422,
        body: { detail: 'Invalid limit: must be greater than or equal to 0.' },
      });
    });
  });

  describe("422 entries carry pydantic's type, msg, input and ctx", () => {
    const refused: [string, string, Record<string, unknown>, object][] = [
      [
        'limit: "abc"',
        POLL,
        { limit: 'abc' },
        {
          type: 'int_parsing',
          loc: ['body', 'limit'],
          msg: 'Input should be a valid integer, unable to parse string as an integer',
          input: 'abc',
        },
      ],
      [
        'limit: 1.5',
        POLL,
        { limit: 1.5 },
        {
          type: 'int_from_float',
          loc: ['body', 'limit'],
          msg: 'Input should be a valid integer, got a number with a fractional part',
          input: 1.5,
        },
      ],
      [
        'concurrency_limit: "x"',
        '/work_pools/',
        { name: 'p', concurrency_limit: 'x' },
        {
          type: 'int_parsing',
          loc: ['body', 'concurrency_limit'],
          msg: 'Input should be a valid integer, unable to parse string as an integer',
          input: 'x',
        },
      ],
      [
        'scheduled_before: "bad"',
        POLL,
        { scheduled_before: 'bad' },
        {
          type: 'value_error',
          loc: ['body', 'scheduled_before'],
          msg: 'Value error, Unable to parse string [bad]',
          input: 'bad',
          ctx: { error: {} },
        },
      ],
      [
        'scheduled_before: true',
        POLL,
        { scheduled_before: true },
        {
          type: 'value_error',
          loc: ['body', 'scheduled_before'],
          msg: 'value is not a valid datetime',
          input: true,
        },
      ],
      [
        'work_queue_names: "abc"',
        POLL,
        { work_queue_names: 'abc' },
        { type: 'list_type', loc: ['body', 'work_queue_names'], msg: 'Input should be a valid list', input: 'abc' },
      ],
      [
        'any_: ["bad"] (UUID)',
        '/flow_runs/filter',
        { flow_runs: { id: { any_: ['bad'] } } },
        {
          type: 'uuid_parsing',
          loc: ['body', 'flow_runs', 'id', 'any_', 0],
          msg: 'Input should be a valid UUID, invalid length: found 3',
          input: 'bad',
          ctx: { error: 'invalid length: found 3' },
        },
      ],
      [
        'any_: [1] (UUID)',
        '/flow_runs/filter',
        { flow_runs: { id: { any_: [1] } } },
        {
          type: 'uuid_type',
          loc: ['body', 'flow_runs', 'id', 'any_', 0],
          msg: 'UUID input should be a string, bytes or UUID object',
          input: 1,
        },
      ],
      [
        'flow_id: "bad"',
        '/flow_runs/',
        { flow_id: 'bad' },
        {
          type: 'uuid_parsing',
          loc: ['body', 'flow_id'],
          msg: 'Input should be a valid UUID, invalid length: found 3',
          input: 'bad',
          ctx: { error: 'invalid length: found 3' },
        },
      ],
      [
        'name: 1',
        '/flows/',
        { name: 1 },
        { type: 'string_type', loc: ['body', 'name'], msg: 'Input should be a valid string', input: 1 },
      ],
      [
        'name: "a/b"',
        '/flows/',
        { name: 'a/b' },
        {
          type: 'string_pattern_mismatch',
          loc: ['body', 'name'],
          msg: "String should match pattern '^[^/%&><]+$'",
          input: 'a/b',
          ctx: { pattern: '^[^/%&><]+$' },
        },
      ],
      [
        '{} (missing name)',
        '/flows/',
        {},
        { type: 'missing', loc: ['body', 'name'], msg: 'Field required', input: {} },
      ],
    ];

    it.each(refused)('%s', async (_case, url, body, detail) => {
      const response = await gw.post(url, body);
      expect(response.status).toBe(422);
      expect(response.body).toEqual(invalid([detail], body));
    });

    it.each<[unknown, object]>([
      [
        'maybe',
        {
          type: 'bool_parsing',
          msg: 'Input should be a valid boolean, unable to interpret input',
          input: 'maybe',
        },
      ],
      [2, { type: 'bool_parsing', msg: 'Input should be a valid boolean, unable to interpret input', input: 2 }],
      [[1], { type: 'bool_type', msg: 'Input should be a valid boolean', input: [1] }],
    ])('set_state force: %p', async (force, detail) => {
      const body = { state: { type: 'SCHEDULED' }, force };
      const response = await gw.post(`/flow_runs/${runId}/set_state`, body);
      expect(response.status).toBe(422);
      expect(response.body).toEqual(invalid([{ ...detail, loc: ['body', 'force'] }], body));
    });
  });

  describe('content types, as FastAPI reads them', () => {
    it('a poll sent as text/plain gets the defaults (200), whatever the text', async () => {
      for (const payload of ['{"limit": 1}', 'hello']) {
        const response = await send('POST', POLL, payload, { 'content-type': 'text/plain' });
        expect(response).toMatchObject({ status: 200, body: [] });
      }
      expect(await send('POST', '/flow_runs/filter', 'x', { 'content-type': 'text/plain' })).toMatchObject({
        status: 200,
      });
    });

    it('a body without a content type is read as JSON', async () => {
      expect(await send('POST', POLL, '{"limit": 1}')).toMatchObject({ status: 200, body: [] });
      expect(await send('POST', POLL)).toMatchObject({ status: 200, body: [] });
      const created = await send('POST', '/flows/', '{"name":"no-content-type"}');
      expect(created).toMatchObject({ status: 201, body: { name: 'no-content-type' } });
      const garbage = await send('POST', POLL, 'garbage');
      expect(garbage.status).toBe(422);
      expect(garbage.body).toMatchObject({
        exception_message: 'Invalid request received.',
        exception_detail: [{ type: 'json_invalid', loc: ['body', 0], msg: 'JSON decode error', input: {} }],
        request_body: 'garbage',
      });
    });

    it.each([[undefined], ['application/json']])(
      'a model body not sent at all (content type %p) is missing as a whole',
      async (type) => {
        const response = await send('POST', '/flows/', undefined, type ? { 'content-type': type } : {});
        expect(response.status).toBe(422);
        expect(response.body).toEqual(
          invalid([{ type: 'missing', loc: ['body'], msg: 'Field required', input: null }], null),
        );
      },
    );

    it('application/<x>+json is JSON', async () => {
      const response = await send('POST', '/flows/', '{"name":"vnd"}', { 'content-type': 'application/vnd.api+json' });
      expect(response).toMatchObject({ status: 201, body: { name: 'vnd' } });
    });

    it.each([
      ['text/plain', '{"name":"f1"}'],
      ['application/x-www-form-urlencoded', 'name=f2'],
    ])('a model body sent as %s is refused as a string (422 model_attributes_type)', async (type, payload) => {
      const response = await send('POST', '/flows/', payload, { 'content-type': type });
      expect(response.status).toBe(422);
      expect(response.body).toEqual(
        invalid(
          [
            {
              type: 'model_attributes_type',
              loc: ['body'],
              msg: 'Input should be a valid dictionary or object to extract fields from',
              input: payload,
            },
          ],
          payload,
        ),
      );
    });

    it('set_state sent as text/plain: its required embedded field is missing, with no input', async () => {
      const payload = '{"state":{"type":"SCHEDULED"}}';
      const response = await send('POST', `/flow_runs/${runId}/set_state`, payload, { 'content-type': 'text/plain' });
      expect(response.status).toBe(422);
      expect(response.body).toEqual(
        invalid([{ type: 'missing', loc: ['body', 'state'], msg: 'Field required', input: null }], payload),
      );
    });

    it('a log batch sent as text/plain: bytes are no sequence', async () => {
      const response = await send('POST', '/logs/', 'x', { 'content-type': 'text/plain' });
      expect(response.status).toBe(422);
      expect(response.body).toEqual(
        invalid(
          [
            {
              type: 'sequence_str',
              loc: ['body'],
              msg: "'bytes' instances are not allowed as a Sequence value",
              input: 'x',
              ctx: { type_name: 'bytes' },
            },
          ],
          'x',
        ),
      );
    });
  });

  describe('a served path with another method: 405', () => {
    const NOT_ALLOWED = { detail: 'Method Not Allowed' };

    it.each([
      ['GET', POLL, 'POST'],
      ['PATCH', POLL, 'POST'],
      ['DELETE', '/flows/filter', 'POST'],
      ['GET', '/flows/filter', 'POST'],
      ['PUT', '/flows/', 'POST'],
    ])('%s %s → 405, Allow: %s', async (method, url, allow) => {
      const response = await send(method, url);
      expect(response.status).toBe(405);
      expect(response.body).toEqual(NOT_ALLOWED);
      expect(response.headers.allow).toBe(allow);
    });

    it('lists every method of a path served by several (Prefect names only its first route)', async () => {
      const response = await send('PUT', `/flows/${flowId}`);
      expect(response).toMatchObject({ status: 405, body: NOT_ALLOWED });
      expect(String(response.headers.allow).split(', ').sort()).toEqual(['DELETE', 'GET', 'PATCH']);
      const pool = await send('PUT', '/work_pools/pool1');
      expect(pool).toMatchObject({ status: 405, body: NOT_ALLOWED });
      expect(String(pool.headers.allow).split(', ')).toContain('GET');
    });

    it.each([
      ['PUT', '/flows/not-a-uuid'],
      ['PUT', '/nope/'],
      ['GET', '/flows/not-a-uuid'],
    ])('%s %s (no such path) stays 404', async (method, url) => {
      expect(await send(method, url)).toMatchObject({ status: 404, body: { detail: 'Not Found' } });
    });
  });
});
