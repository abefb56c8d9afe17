import { expectOperation } from '../support/openapi';
import { TestGateway } from '../support/gateway';

describe('flows API', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await TestGateway.start();
  });
  afterAll(() => gw.stop());

  it('creates a flow (201), then returns the existing one on a second create (200)', async () => {
    const first = await gw.post('/flows/', { name: 'etl', tags: ['a'], labels: { team: 'data' } });
    expectOperation(first, 'POST', '/flows/', 201);
    expect(first.body).toMatchObject({ name: 'etl', tags: ['a'], labels: { team: 'data' } });
    expect(first.body.created).toMatch(/Z$/);

    const again = await gw.post('/flows/', { name: 'etl', tags: ['other'] });
    expectOperation(again, 'POST', '/flows/', 200);
    expect(again.body.id).toBe(first.body.id);
    expect(again.body.tags).toEqual(['a']);
  });

  it('reads by id and by name, updates tags, deletes', async () => {
    const { body: flow } = await gw.post('/flows/', { name: 'reader' });
    expectOperation(await gw.get(`/flows/${flow.id}`), 'GET', '/flows/{id}', 200);
    const byName = await gw.get('/flows/name/reader');
    expectOperation(byName, 'GET', '/flows/name/{name}', 200);
    expect(byName.body.id).toBe(flow.id);

    expect((await gw.patch(`/flows/${flow.id}`, { tags: ['x', 'y'] })).status).toBe(204);
    expect((await gw.get(`/flows/${flow.id}`)).body.tags).toEqual(['x', 'y']);

    expect((await gw.delete(`/flows/${flow.id}`)).status).toBe(204);
    expect(await gw.get(`/flows/${flow.id}`)).toMatchObject({ status: 404, body: { detail: 'Flow not found' } });
    expect((await gw.delete(`/flows/${flow.id}`)).status).toBe(404);
  });

  describe('bad input', () => {
    it('rejects a missing name with a pydantic-shaped 422 and writes nothing', async () => {
      const response = await gw.post('/flows/', { tags: [] });
      expect(response.status).toBe(422);
      expect(response.body).toEqual({
        exception_message: 'Invalid request received.',
        exception_detail: [expect.objectContaining({ type: 'missing', loc: ['body', 'name'], msg: 'Field required' })],
        request_body: { tags: [] },
      });
      expect(response.text).toContain('"type":"missing","loc":["body","name"]');
    });

    it.each([
      ['unknown key', { name: 'x1', color: 'red' }, 'extra_forbidden'],
      ['wrong type', { name: 12 }, 'string_type'],
      ['tags not a list', { name: 'x2', tags: 'a' }, 'list_type'],
      ['banned character', { name: 'a/b' }, 'string_pattern_mismatch'],
      ['body not an object', [1, 2], 'model_attributes_type'],
    ])('422 for %s', async (_case, body, type) => {
      const response = await gw.post('/flows/', body);
      expect(response.status).toBe(422);
      expect(response.body.exception_detail.map((d: { type: string }) => d.type)).toContain(type);
    });

    it('422 json_invalid for malformed JSON', async () => {
      const response = await gw.request('POST', '/flows/', '{"name": ');
      expect(response.status).toBe(422);
      expect(response.body.exception_detail[0].type).toBe('json_invalid');
    });

    it('413 for a body over HTTP_BODY_LIMIT_BYTES', async () => {
      const response = await gw.post('/flows/', { name: 'big', tags: ['x'.repeat(gw.config.HTTP_BODY_LIMIT_BYTES)] });
      expect(response.status).toBe(413);
      expect(response.body).toHaveProperty('detail');
    });

    it.each([
      ['GET', '/flows/not-a-uuid'],
      ['PATCH', '/flows/not-a-uuid'],
      ['DELETE', '/flows/not-a-uuid'],
    ])('answers %s %s with 404 Not Found, as a route that does not match', async (method, url) => {
      expect(await gw.request(method, url, method === 'PATCH' ? {} : undefined)).toMatchObject({
        status: 404,
        body: { detail: 'Not Found' },
      });
    });

    it('nothing was written by rejected requests', async () => {
      for (const name of ['x1', 'x2', 'a/b', 'big']) {
        expect((await gw.get(`/flows/name/${encodeURIComponent(name)}`)).status).toBe(404);
      }
    });
  });

  describe('POST /flows/filter and /flows/count', () => {
    const mine = { name: { like_: 'fl-' } };
    beforeAll(async () => {
      for (const [name, tags] of [
        ['fl-alpha', ['t1']],
        ['fl-beta', ['t1', 't2']],
        ['fl-gamma', []],
      ] as const) {
        expect((await gw.post('/flows/', { name, tags })).status).toBe(201);
      }
    });

    it('filters, sorts and pages flows with Prefect response bodies', async () => {
      const response = await gw.post('/flows/filter', { flows: mine, sort: 'NAME_DESC' });
      expectOperation(response, 'POST', '/flows/filter', 200);
      expect(response.body.map((f: { name: string }) => f.name)).toEqual(['fl-gamma', 'fl-beta', 'fl-alpha']);
      expect(response.body[1]).toMatchObject({ tags: ['t1', 't2'], labels: {} });

      const page = await gw.post('/flows/filter', { flows: mine, offset: 1, limit: 1 });
      expectOperation(page, 'POST', '/flows/filter', 200);
      expect(page.body.map((f: { name: string }) => f.name)).toEqual(['fl-beta']);
      expect((await gw.post('/flows/filter', { limit: 0 })).body).toEqual([]);
    });

    it('defaults to every flow by name for an empty or absent body, ignoring unknown top-level keys', async () => {
      const everything = await gw.post('/flows/filter', {});
      expectOperation(everything, 'POST', '/flows/filter', 200);
      const sortedNames = everything.body.map((f: { name: string }) => f.name);
      expect(sortedNames).toEqual(expect.arrayContaining(['etl', 'fl-alpha', 'fl-beta', 'fl-gamma']));
      expect(sortedNames).toEqual([...sortedNames].sort());
      expect((await gw.post('/flows/filter')).body).toEqual(everything.body);
      expect((await gw.post('/flows/filter', { extra: 1, flows: mine })).body).toHaveLength(3);
    });

    it('counts flows matching a filter', async () => {
      const count = await gw.post('/flows/count', { flows: { ...mine, tags: { all_: ['t1'] } } });
      expectOperation(count, 'POST', '/flows/count', 200);
      expect(count.body).toBe(2);
      expect(
        (
          await gw.post('/flows/count', {
            flows: { operator: 'or_', tags: { is_null_: true }, name: { any_: ['fl-beta', 'fl-alpha'] } },
          })
        ).body,
      ).toBe(3);
      expect((await gw.post('/flows/count', { flows: mine, task_runs: {} })).body).toBe(0);
    });

    it.each([
      [201, 'Invalid limit: must be less than or equal to 200.'],
      [-1, 'Invalid limit: must be greater than or equal to 0.'],
    ])("422 with Prefect's text for limit %d", async (limit, detail) => {
      const response = await gw.post('/flows/filter', { limit });
      expect(response.status).toBe(422);
      expect(response.body).toEqual({ detail });
    });

    it.each<[string, object, string, (string | number)[]]>([
      ['unknown key inside a filter', { flows: { nope: 1 } }, 'extra_forbidden', ['body', 'flows', 'nope']],
      [
        'unknown key deeper down',
        { flows: { name: { any_: ['x'], eq_: 'x' } } },
        'extra_forbidden',
        ['body', 'flows', 'name', 'eq_'],
      ],
      [
        'a string where a list is due',
        { flows: { name: { any_: 'fl-alpha' } } },
        'list_type',
        ['body', 'flows', 'name', 'any_'],
      ],
      ['a filter that is a list', { flows: [{}] }, 'model_type', ['body', 'flows']],
      ['a filter that is a string', { flow_runs: 'x' }, 'model_type', ['body', 'flow_runs']],
      ['malformed uuid', { flows: { id: { any_: ['nope'] } } }, 'uuid_parsing', ['body', 'flows', 'id', 'any_', 0]],
      ['unknown operator', { flows: { operator: 'xor_' } }, 'enum', ['body', 'flows', 'operator']],
      [
        'unknown state type',
        { flow_runs: { state: { type: { any_: ['DONE'] } } } },
        'enum',
        ['body', 'flow_runs', 'state', 'type', 'any_', 0],
      ],
      [
        'bad date-time',
        { flow_runs: { start_time: { after_: 'yesterday' } } },
        'datetime_from_date_parsing',
        ['body', 'flow_runs', 'start_time', 'after_'],
      ],
      [
        'is_null_ on expected_start_time (Prefect has none)',
        { flow_runs: { expected_start_time: { is_null_: true } } },
        'extra_forbidden',
        ['body', 'flow_runs', 'expected_start_time', 'is_null_'],
      ],
      ['unknown sort', { sort: 'NAME' }, 'enum', ['body', 'sort']],
      ['negative offset', { offset: -1 }, 'greater_than_equal', ['body', 'offset']],
      ['non-integer limit', { limit: 'ten' }, 'int_type', ['body', 'limit']],
    ])('422 for %s', async (_case, body, type, loc) => {
      const response = await gw.post('/flows/filter', body);
      expect(response.status).toBe(422);
      expect(response.body).toMatchObject({ exception_message: 'Invalid request received.', request_body: body });
      expect(response.body.exception_detail).toContainEqual(expect.objectContaining({ type, loc }));
      expect((await gw.post('/flows/count', body)).status).toBe(
        'sort' in body || 'offset' in body || 'limit' in body ? 200 : 422,
      );
    });

    it('uses the configured DEFAULT_LIMIT as default and maximum', async () => {
      const small = await TestGateway.start({ DEFAULT_LIMIT: '2' });
      try {
        for (const name of ['a', 'b', 'c']) await small.post('/flows/', { name });
        expect((await small.post('/flows/filter', {})).body.map((f: { name: string }) => f.name)).toEqual(['a', 'b']);
        expect(await small.post('/flows/filter', { limit: 3 })).toMatchObject({
          status: 422,
          body: { detail: 'Invalid limit: must be less than or equal to 2.' },
        });
      } finally {
        await small.stop();
      }
    });
  });
});
