import { expectOperation } from '../support/openapi';
import { TestGateway } from '../support/gateway';

describe('server routes', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await TestGateway.start();
  });
  afterAll(() => gw.stop());

  it('health, version and admin version', async () => {
    const health = await gw.get('/health');
    expectOperation(health, 'GET', '/health', 200);
    expect(health.body).toBe(true);
    const version = await gw.get('/version');
    expectOperation(version, 'GET', '/version', 200);
    expect(version.text).toBe('"0.8.4"');
    const admin = await gw.get('/admin/version');
    expectOperation(admin, 'GET', '/admin/version', 200);
    // A JSON string, as FastAPI renders it: the Python client calls `.json()` on it.
    expect(JSON.parse(admin.text)).toMatch(/^3\./);
    expect(admin.headers['content-type']).toMatch(/^application\/json/);
  });

  it('reports no server-side default result storage, so a flow run keeps its local default', async () => {
    const storage = await gw.get('/admin/storage');
    expectOperation(storage, 'GET', '/admin/storage', 200);
    expect(storage.body).toEqual({ default_result_storage_block_id: null });
  });

  it('answers the CSRF probe as a server with CSRF disabled', async () => {
    expect(await gw.get('/csrf-token?client=abc')).toMatchObject({
      status: 422,
      body: { detail: 'CSRF protection is disabled.' },
    });
  });

  it('unknown routes are 404 {"detail": "Not Found"}', async () => {
    expect(await gw.get('/nope')).toMatchObject({ status: 404, body: { detail: 'Not Found' } });
  });
});
