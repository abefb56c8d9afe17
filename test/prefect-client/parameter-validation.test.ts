// Our parameter validation against Prefect's own (`prefect.utilities.schema_tools.validation.validate`, run in the
// pinned Prefect venv) over random schemas shaped like the ones Prefect's client generates and random parameters:
// the same verdict and, for a failure, the same message, which names the error Python's jsonschema picks.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import fc from 'fast-check';
import { ParameterSchemas } from '@app/domain';
import { ensurePrefectVenv, venvBin } from '../../bench/prefect-venv';

const SETUP_TIMEOUT_MS = 15 * 60_000;
const NAMES = ['a', 'b', 'c', 'x', 'y', 'z'];

const MODEL = {
  title: 'M',
  type: 'object',
  properties: { d: { type: 'integer' }, e: { anyOf: [{ type: 'string' }, { type: 'integer' }] } },
  required: ['d'],
};

const property = fc.oneof(
  fc.record({ type: fc.constantFrom('integer', 'string', 'number', 'boolean') }),
  fc.record({ type: fc.constant('integer'), minimum: fc.integer({ min: -2, max: 2 }) }),
  fc.constant({ type: 'string', enum: ['a', 'b'] }),
  fc.constant({ anyOf: [{ type: 'integer' }, { type: 'string' }] }),
  fc.constant({ type: 'array', items: { type: 'integer' } }),
  fc.constant({ type: 'object', properties: { d: { type: 'integer' }, e: { type: 'string' } }, required: ['d'] }),
  fc.constant({ allOf: [{ $ref: '#/definitions/M' }] }),
  fc.constant({ anyOf: [{ $ref: '#/definitions/M' }, { type: 'null' }] }),
  fc.constant({ type: 'array', items: { $ref: '#/definitions/M' } }),
  fc.constant({ type: 'object', additionalProperties: false, properties: { d: { type: 'integer' } } }),
  fc.constant({
    anyOf: [
      { type: 'array', items: { type: 'integer' } },
      { type: 'object', required: ['d'] },
    ],
  }),
  fc.constant({ type: 'string', minLength: 2, maxLength: 3, pattern: '^[ab]+$' }),
  fc.constant({ oneOf: [{ type: 'integer' }, { type: 'number' }] }),
  fc.constant({ const: 'a' }),
  fc.constant({ type: 'array', prefixItems: [{ type: 'integer' }, { type: 'string' }], minItems: 2 }),
);
const schema = fc
  .tuple(
    fc.dictionary(
      fc.constantFrom(...NAMES),
      fc.tuple(property, fc.boolean()).map(([p, withDefault]) => (withDefault ? { ...p, default: null } : p)),
      { minKeys: 1, maxKeys: 4 },
    ),
    fc.subarray(NAMES),
  )
  .map(([properties, required]) => ({
    title: 'Parameters',
    type: 'object',
    properties,
    required: required.filter((name) => name in properties),
    definitions: { M: MODEL },
  }));
const value = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom('a', 'b', 'zz', 'ab', 'abab', 1.5, true, false, null),
  fc.array(fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constant('s')), { maxLength: 3 }),
  fc.record(
    { d: fc.oneof(fc.integer(), fc.constant('q')), e: fc.constantFrom('t', 3, null), f: fc.constant(1) },
    { requiredKeys: [] },
  ),
  fc.array(fc.record({ d: fc.oneof(fc.integer(), fc.constant('q')) }, { requiredKeys: [] }), { maxLength: 3 }),
);
const parameters = fc.dictionary(fc.constantFrom(...NAMES), value, { maxKeys: 5 });

describe("parameter validation against Prefect's own", () => {
  beforeAll(() => ensurePrefectVenv(), SETUP_TIMEOUT_MS);

  it('gives the verdict and message Prefect gives, for random schemas and parameters', () => {
    const sampled = fc.sample(fc.record({ schema, values: parameters, ignoreRequired: fc.boolean() }), {
      numRuns: 400,
      seed: 20261206,
    });
    // As the server sees them: parsed from JSON, no object shared between two places.
    const cases = JSON.parse(JSON.stringify(sampled)) as typeof sampled;
    const prefect = JSON.parse(
      execFileSync(venvBin('python'), [path.join(__dirname, 'validate_parameters.py')], {
        input: JSON.stringify(cases),
        maxBuffer: 1 << 26,
      }).toString(),
    ) as (string | null)[];
    const schemas = new ParameterSchemas();
    const ours = cases.map((c) =>
      schemas.validate(c.values, c.schema, { preprocess: true, ignoreRequired: c.ignoreRequired }),
    );
    const differing = cases.flatMap((c, i) =>
      ours[i] === prefect[i] ? [] : [{ ...c, ours: ours[i], prefect: prefect[i] }],
    );
    expect(differing).toEqual([]);
    // The sample exercises both verdicts.
    expect(prefect.filter((verdict) => verdict === null).length).toBeGreaterThan(20);
    expect(prefect.filter((verdict) => verdict !== null).length).toBeGreaterThan(100);
  }, 300_000);
});
