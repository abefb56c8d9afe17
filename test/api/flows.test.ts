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
      ['banned character', { name: 'a/b' }, 'value_error'],
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

    it('413 for a body over 1 MiB', async () => {
      const response = await gw.post('/flows/', { name: 'big', tags: ['x'.repeat(1024 * 1024)] });
      expect(response.status).toBe(413);
      expect(response.body).toHaveProperty('detail');
    });

    it('422 uuid_parsing for a malformed id in the path', async () => {
      const response = await gw.get('/flows/not-a-uuid');
      expect(response.status).toBe(422);
      expect(response.body.exception_detail[0]).toMatchObject({ type: 'uuid_parsing', loc: ['path', 'id'] });
    });

    it('nothing was written by rejected requests', async () => {
      for (const name of ['x1', 'x2', 'a/b', 'big']) expect((await gw.get(`/flows/name/${encodeURIComponent(name)}`)).status).toBe(404);
    });
  });
});
