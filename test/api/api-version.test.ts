import { randomUUID } from 'node:crypto';
import { expectOperation } from '../support/openapi';
import { TestGateway } from '../support/gateway';

const malformed = (version: string) => ({
  status: 400,
  body: {
    detail: `Invalid X-PREFECT-API-VERSION header format.Expected header in format 'x.y.z' but received ${version}`,
  },
});

const tooOld = (version: string) => ({
  status: 400,
  body: { detail: `The request specified API version ${version} but this server requires version 0.8.0 or higher.` },
});

describe('X-PREFECT-API-VERSION on every API route', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await TestGateway.start();
  });
  afterAll(() => gw.stop());

  const withVersion = (method: string, url: string, version: string, body?: unknown) =>
    gw.request(method, url, body, { 'x-prefect-api-version': version });

  it.each(['0.8', '1.2.3.4', 'x.y.z', '0.8.a'])(
    'refuses the malformed version %j before the route runs',
    async (version) => {
      expect(await withVersion('POST', '/flows/', version, { name: `malformed-${version}` })).toMatchObject(
        malformed(version),
      );
      expect(await withVersion('GET', `/flows/${randomUUID()}`, version)).toMatchObject(malformed(version));
      expect(await gw.db.repos.flows.findByName(`malformed-${version}`)).toBeNull();
    },
  );

  it.each(['0.7.9', '0.0.1', '-1.0.0'])('refuses %s, below the minimum API version', async (version) => {
    expect(await withVersion('POST', '/work_pools/', version, { name: `old-${version}` })).toMatchObject(
      tooOld(version),
    );
    expect(await withVersion('POST', '/flow_runs/filter', version, {})).toMatchObject(tooOld(version));
    expect(await gw.db.repos.workPools.findByName(`old-${version}`)).toBeNull();
  });

  it('checks the header before the body is validated', async () => {
    expect(await withVersion('POST', '/flows/', '0.1', { tags: 'not a list' })).toMatchObject(malformed('0.1'));
  });

  it.each(['0.8.0', '0.8.4', '1.0.0', ' 0 . 9 . 0'])('serves a client announcing %j', async (version) => {
    const response = await withVersion('POST', '/flows/', version, { name: `ok-${version.trim()}` });
    expectOperation(response, 'POST', '/flows/', 201);
  });

  it('treats an empty header as absent', async () => {
    expectOperation(await withVersion('POST', '/flows/filter', '', {}), 'POST', '/flows/filter', 200);
  });

  it('leaves /health and /version alone, as Prefect serves them outside its versioned routers', async () => {
    expectOperation(await withVersion('GET', '/health', 'junk'), 'GET', '/health', 200);
    expectOperation(await withVersion('GET', '/version', '0.1.0'), 'GET', '/version', 200);
    expect(await withVersion('GET', '/admin/version', 'junk')).toMatchObject(malformed('junk'));
  });
});
