import { TestGateway } from '../support/gateway';

const PATTERN = '^[^/%&><]+$';
const patternMismatch = (input: string) => ({
  type: 'string_pattern_mismatch',
  loc: ['body', 'name'],
  msg: `String should match pattern '${PATTERN}'`,
  input,
  ctx: { pattern: PATTERN },
});
const emptyish = (input: string) => ({
  type: 'value_error',
  loc: ['body', 'name'],
  msg: 'Value error, name cannot be an empty string',
  input,
  ctx: { error: {} },
});

/** Name fields checked against Prefect's patterns; the 422 entries are Prefect 3.9.1's, byte for byte. */
describe("names as Prefect's patterns allow them", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await TestGateway.start();
  });
  afterAll(() => gw.stop());

  it.each([
    ['an empty flow name', '/flows/', '', patternMismatch('')],
    ['a flow name with a banned character', '/flows/', 'a/b', patternMismatch('a/b')],
    ['an empty work pool name', '/work_pools/', '', emptyish('')],
    ['an emptyish work pool name', '/work_pools/', " ' ", emptyish(" ' ")],
    ['a work pool name with a banned character', '/work_pools/', 'a%b', patternMismatch('a%b')],
  ])('422 for %s, and nothing stored', async (_case, route, name, detail) => {
    const response = await gw.post(route, { name });
    expect(response).toMatchObject({
      status: 422,
      body: { exception_message: 'Invalid request received.', exception_detail: [detail], request_body: { name } },
    });
    const listed = (await gw.post(`${route}filter`, {})).body as { name: string }[];
    expect(listed.map((item) => item.name)).not.toContain(name);
  });

  it('422 for an empty work queue name or one with a banned character', async () => {
    await gw.post('/work_pools/', { name: 'names-pool' });
    for (const name of ['', 'q>1']) {
      const response = await gw.post('/work_pools/names-pool/queues', { name });
      expect(response).toMatchObject({ status: 422, body: { exception_detail: [patternMismatch(name)] } });
    }
  });

  it('accepts what Prefect accepts: a blank flow name, an empty deployment name', async () => {
    const blank = await gw.post('/flows/', { name: ' ' });
    expect(blank).toMatchObject({ status: 201, body: { name: ' ' } });
    const deployment = await gw.post('/deployments/', { name: '', flow_id: blank.body.id });
    expect(deployment).toMatchObject({ status: 201, body: { name: '' } });
  });
});
