import { TestGateway } from '../support/gateway';

/*
 * Issue 12: what Prefect's clients send gets through. Prefect 3.9.1's own server answered each of these with
 * success (a 3,240,000-byte log batch 201, a 1,500,088-byte deployment 201, a pool named with 150 characters
 * 201 / 200 / 200 / 204).
 */
describe('request size and path length, as Prefect accepts them', () => {
  let gw: TestGateway;
  let flowId: string;

  beforeAll(async () => {
    gw = await TestGateway.start();
    flowId = (await gw.post('/flows/', { name: 'sizes' })).body.id;
  });
  afterAll(() => gw.stop());

  it('accepts a 3 MB log batch (the client batches up to 4 MB)', async () => {
    const logs = Array.from({ length: 3000 }, (_, i) => ({
      name: 'x',
      level: 20,
      message: `${i} ${'m'.repeat(1000)}`,
      timestamp: '2026-01-01T00:00:00Z',
    }));
    expect(Buffer.byteLength(JSON.stringify(logs))).toBeGreaterThan(3_000_000);
    expect((await gw.post('/logs/', logs)).status).toBe(201);
    const stored = await gw.post('/logs/filter', { limit: 200 });
    expect(stored.body.length).toBe(200);
  });

  it('accepts a 1.5 MB deployment', async () => {
    const description = 'd'.repeat(1_500_000);
    const created = await gw.post('/deployments/', { name: 'big', flow_id: flowId, description });
    expect(created.status).toBe(201);
    expect((await gw.get(`/deployments/${created.body.id}`)).body.description).toHaveLength(1_500_000);
  });

  it('still refuses a body over HTTP_BODY_LIMIT_BYTES with 413, whatever its content type', async () => {
    const size = gw.config.http.bodyLimitBytes + 1;
    for (const type of ['application/json', 'text/plain']) {
      const response = await gw.app.inject({
        method: 'POST',
        url: '/api/work_pools/p/get_scheduled_flow_runs',
        payload: 'x'.repeat(size),
        headers: { 'content-type': type },
      });
      expect(response.statusCode).toBe(413);
    }
  });

  it('serves a pool named with 150 characters: create, read, poll, delete', async () => {
    const name = 'p'.repeat(150);
    expect((await gw.post('/work_pools/', { name, type: 'process' })).status).toBe(201);
    expect(await gw.get(`/work_pools/${name}`)).toMatchObject({ status: 200, body: { name } });
    expect(await gw.post(`/work_pools/${name}/get_scheduled_flow_runs`, {})).toMatchObject({ status: 200, body: [] });
    expect((await gw.delete(`/work_pools/${name}`)).status).toBe(204);
    expect((await gw.get(`/work_pools/${name}`)).status).toBe(404);
  });

  it('reads a flow named with 1,000 characters by name', async () => {
    const name = 'f'.repeat(1000);
    const created = await gw.post('/flows/', { name });
    expect(created.status).toBe(201);
    expect(await gw.get(`/flows/name/${name}`)).toMatchObject({ status: 200, body: { id: created.body.id } });
  });
});
