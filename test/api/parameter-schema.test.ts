import { expectOperation } from '../support/openapi';
import { TestGateway } from '../support/gateway';

/** A schema as Prefect's client generates for `def flow(x: int, opt: Optional[int] = None, cfg: Cfg = ...)`. */
const SCHEMA = {
  title: 'Parameters',
  type: 'object',
  properties: {
    x: { title: 'x', position: 0, type: 'integer' },
    opt: { title: 'opt', position: 1, type: 'integer' },
    cfg: { title: 'cfg', position: 2, allOf: [{ $ref: '#/definitions/Cfg' }] },
  },
  required: ['x'],
  definitions: {
    Cfg: {
      title: 'Cfg',
      type: 'object',
      properties: { depth: { title: 'depth', type: 'integer' } },
      required: ['depth'],
    },
  },
};

/** Every status and detail below is what Prefect 3.9.1's server answered to the same request. */
describe('enforce_parameter_schema as Prefect validates parameters', () => {
  let gw: TestGateway;
  let flowId: string;
  let deploymentId: string;

  beforeAll(async () => {
    gw = await TestGateway.start();
    flowId = (await gw.post('/flows/', { name: 'params-flow' })).body.id;
    const created = await gw.post('/deployments/', {
      name: 'enforced',
      flow_id: flowId,
      enforce_parameter_schema: true,
      parameter_openapi_schema: SCHEMA,
      parameters: {},
    });
    expect(created.status).toBe(201);
    deploymentId = created.body.id;
  });
  afterAll(() => gw.stop());

  const run = (body: Record<string, unknown>, id = deploymentId) => gw.post(`/deployments/${id}/create_flow_run`, body);

  describe('POST /deployments/{id}/create_flow_run', () => {
    it.each([
      [{}, "Error creating flow run: Validation failed. Failure reason: 'x' is a required property"],
      [
        { x: 's' },
        "Error creating flow run: Validation failed for field 'x'. Failure reason: 's' is not of type 'integer'",
      ],
      [
        { x: 1.5 },
        "Error creating flow run: Validation failed for field 'x'. Failure reason: 1.5 is not of type 'integer'",
      ],
      [
        { x: 1, opt: 'q' },
        "Error creating flow run: Validation failed for field 'opt'. Failure reason: 'q' is not valid under any of the given schemas",
      ],
      [
        { x: 1, cfg: {} },
        "Error creating flow run: Validation failed for field 'cfg'. Failure reason: 'depth' is a required property",
      ],
      [
        { x: 1, cfg: { depth: 'deep' } },
        "Error creating flow run: Validation failed for field 'cfg.depth'. Failure reason: 'deep' is not of type 'integer'",
      ],
    ])('409 for parameters %j', async (parameters, detail) => {
      const before = (await gw.post('/flow_runs/count', {})).body;
      const response = await run({ parameters });
      expect(response).toMatchObject({ status: 409, body: { detail } });
      expect((await gw.post('/flow_runs/count', {})).body).toBe(before);
    });

    it('201 for conforming parameters (an optional one may be null), and with enforcement turned off for the run', async () => {
      const ok = await run({ parameters: { x: 1, opt: null, cfg: { depth: 2 } } });
      expectOperation(ok, 'POST', '/deployments/{id}/create_flow_run', 201);
      expect(ok.body.parameters).toEqual({ x: 1, opt: null, cfg: { depth: 2 } });
      const unchecked = await run({ parameters: { x: 'anything' }, enforce_parameter_schema: false });
      expect(unchecked).toMatchObject({ status: 201, body: { parameters: { x: 'anything' } } });
    });

    it('does not validate the runs of a deployment that does not enforce its schema', async () => {
      const lax = await gw.post('/deployments/', {
        name: 'lax',
        flow_id: flowId,
        enforce_parameter_schema: false,
        parameter_openapi_schema: SCHEMA,
      });
      expect(await run({ parameters: { x: 'text' } }, lax.body.id)).toMatchObject({ status: 201 });
      expect(await run({ parameters: {}, enforce_parameter_schema: true }, lax.body.id)).toMatchObject({ status: 409 });
    });

    it('hydrates {"__prefect_kind": ...} placeholders before validating, and stores the hydrated values', async () => {
      const hydrated = await run({
        parameters: { x: { __prefect_kind: 'json', value: '5' }, opt: { __prefect_kind: 'json' } },
      });
      expect(hydrated).toMatchObject({ status: 201, body: { parameters: { x: 5 } } });
      expect(hydrated.body.parameters).not.toHaveProperty('opt');
      expect(await run({ parameters: { x: { __prefect_kind: 'json', value: '"5"' } } })).toMatchObject({
        status: 409,
        body: {
          detail:
            "Error creating flow run: Validation failed for field 'x'. Failure reason: '5' is not of type 'integer'",
        },
      });
    });

    it.each([
      [
        { x: { __prefect_kind: 'workspace_variable', variable_name: 'nope' } },
        "Error hydrating flow run parameters: Variable 'nope' not found in workspace.",
      ],
      [
        { x: { __prefect_kind: 'json', value: '{bad' } },
        'Error hydrating flow run parameters: Invalid JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)',
      ],
    ])('400 for a placeholder that cannot be hydrated: %j', async (parameters, detail) => {
      expect(await run({ parameters, enforce_parameter_schema: false })).toMatchObject({
        status: 400,
        body: { detail },
      });
    });
  });

  it("409 in referencing's words for a schema whose $ref leads nowhere", async () => {
    const dangling = { type: 'object', properties: { a: { $ref: '#/definitions/Nope' } } };
    const deployment = await gw.post('/deployments/', {
      name: 'dangling',
      flow_id: flowId,
      enforce_parameter_schema: false,
      parameter_openapi_schema: dangling,
    });
    expect(await run({ parameters: { a: 1 }, enforce_parameter_schema: true }, deployment.body.id)).toMatchObject({
      status: 409,
      body: {
        detail:
          "Error creating flow run: Validation failed. Failure reason: PointerToNowhere: '/definitions/Nope' does not exist within {'type': 'object', 'properties': {'a': {'$ref': '#/definitions/Nope'}}}",
      },
    });
  });

  describe('deployments whose defaults break their own schema', () => {
    it("422 on create when the body turns enforcement on (pydantic's value_error on the body)", async () => {
      const body = {
        name: 'broken',
        flow_id: flowId,
        enforce_parameter_schema: true,
        parameter_openapi_schema: SCHEMA,
        parameters: { x: 'a' },
      };
      const response = await gw.post('/deployments/', body);
      expect(response.status).toBe(422);
      expect(response.body.exception_detail).toEqual([
        expect.objectContaining({
          type: 'value_error',
          loc: ['body'],
          msg: "Value error, Validation failed for field 'x'. Failure reason: 'a' is not of type 'integer'",
          ctx: { error: {} },
        }),
      ]);
      const names = ((await gw.post('/deployments/filter', {})).body as { name: string }[]).map((d) => d.name);
      expect(names).not.toContain('broken');
    });

    it('422 on create for a schema that is no JSON schema', async () => {
      const response = await gw.post('/deployments/', {
        name: 'bad-schema',
        flow_id: flowId,
        enforce_parameter_schema: true,
        parameter_openapi_schema: { type: 'nonsense' },
        parameters: {},
      });
      expect(response).toMatchObject({
        status: 422,
        body: {
          exception_detail: [
            {
              type: 'value_error',
              loc: ['body'],
              msg: "Value error, The provided schema is not a valid json schema. Schema error: 'nonsense' is not valid under any of the given schemas",
            },
          ],
        },
      });
    });

    it('409 on update for defaults that break the schema; missing required ones and nulls for optional ones pass', async () => {
      expect(await gw.patch(`/deployments/${deploymentId}`, { parameters: { x: 'zz' } })).toMatchObject({
        status: 409,
        body: {
          detail:
            "Error updating deployment: Validation failed for field 'x'. Failure reason: 'zz' is not of type 'integer'",
        },
      });
      expect((await gw.patch(`/deployments/${deploymentId}`, { parameters: { opt: null } })).status).toBe(204);
      expect((await gw.get(`/deployments/${deploymentId}`)).body.parameters).toEqual({ opt: null });
      const placeholder = { parameters: { x: { __prefect_kind: 'json', value: '3' } } };
      expect((await gw.patch(`/deployments/${deploymentId}`, placeholder)).status).toBe(204);
      expect((await gw.get(`/deployments/${deploymentId}`)).body.parameters).toEqual({ x: 3 });
    });
  });
});
