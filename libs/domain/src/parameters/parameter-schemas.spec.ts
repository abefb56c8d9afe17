import { hydrateParameters, HydrationError } from './hydration';
import { ParameterSchemas } from './parameter-schemas';
import { pythonRepr } from '../python-repr';

/** A pydantic-made parameter schema; the expected messages are Prefect 3.9.1's own (its `validate`, run in Python). */
const SCHEMA = {
  title: 'Parameters',
  type: 'object',
  properties: {
    x: { title: 'x', position: 0, type: 'integer' },
    name: { title: 'name', position: 1, type: 'string', default: 'n' },
    opt: { title: 'opt', position: 2, anyOf: [{ type: 'integer' }, { type: 'null' }], default: null },
    items: { title: 'items', position: 3, type: 'array', items: { type: 'integer' } },
    choice: { title: 'choice', position: 4, enum: ['a', 'b'], type: 'string' },
    cfg: { title: 'cfg', position: 5, allOf: [{ $ref: '#/definitions/Cfg' }] },
    num: { title: 'num', position: 6, type: 'number', minimum: 0 },
    flag: { title: 'flag', position: 7, type: 'boolean' },
    legacy: { title: 'legacy', position: 8, type: 'integer' },
    tup: { title: 'tup', position: 9, type: 'array', items: [{ type: 'integer' }, { type: 'string' }] },
    'odd key': { title: 'odd key', position: 10, type: 'integer' },
  },
  required: ['x'],
  definitions: {
    Cfg: {
      title: 'Cfg',
      type: 'object',
      properties: { depth: { title: 'depth', type: 'integer' }, sub: { title: 'sub', type: 'string', default: 's' } },
      required: ['depth'],
    },
  },
};

const CASES: [Record<string, unknown>, string | null][] = [
  [{ x: 1 }, null],
  [{}, "Validation failed. Failure reason: 'x' is a required property"],
  [{ x: 'abc' }, "Validation failed for field 'x'. Failure reason: 'abc' is not of type 'integer'"],
  [{ x: 1.5 }, "Validation failed for field 'x'. Failure reason: 1.5 is not of type 'integer'"],
  [{ x: true }, "Validation failed for field 'x'. Failure reason: True is not of type 'integer'"],
  [{ x: null }, "Validation failed for field 'x'. Failure reason: None is not of type 'integer'"],
  [{ x: 1, name: 5 }, "Validation failed for field 'name'. Failure reason: 5 is not of type 'string'"],
  [{ x: 1, name: null }, "Validation failed for field 'name'. Failure reason: None is not of type 'string'"],
  [
    { x: 1, opt: 'q' },
    "Validation failed for field 'opt'. Failure reason: 'q' is not valid under any of the given schemas",
  ],
  [{ x: 1, opt: null }, null],
  [
    { x: 1, items: [1, 'b', 3] },
    "Validation failed for field 'items[1]'. Failure reason: 'b' is not of type 'integer'",
  ],
  [
    { x: 1, items: 'notalist' },
    "Validation failed for field 'items'. Failure reason: 'notalist' is not valid under any of the given schemas",
  ],
  [{ x: 1, choice: 'c' }, "Validation failed for field 'choice'. Failure reason: 'c' is not one of ['a', 'b']"],
  [{ x: 1, cfg: {} }, "Validation failed for field 'cfg'. Failure reason: 'depth' is a required property"],
  [
    { x: 1, cfg: { depth: 'deep' } },
    "Validation failed for field 'cfg.depth'. Failure reason: 'deep' is not of type 'integer'",
  ],
  [
    { x: 1, cfg: { depth: 2, sub: null } },
    "Validation failed for field 'cfg.sub'. Failure reason: None is not of type 'string'",
  ],
  [{ x: 1, num: -1 }, "Validation failed for field 'num'. Failure reason: -1 is less than the minimum of 0"],
  [{ x: 1, num: -1.5 }, "Validation failed for field 'num'. Failure reason: -1.5 is less than the minimum of 0"],
  [
    { x: 1, flag: 'yes' },
    "Validation failed for field 'flag'. Failure reason: 'yes' is not valid under any of the given schemas",
  ],
  [{ x: 1, legacy: null }, null],
  [{ x: 1, tup: [1, 2] }, "Validation failed for field 'tup[1]'. Failure reason: 2 is not of type 'string'"],
  [
    { x: 1, 'odd key': 'z' },
    "Validation failed for field \"$['odd key']\". Failure reason: 'z' is not valid under any of the given schemas",
  ],
  [{ x: 'a', name: 5 }, "Validation failed for field 'x'. Failure reason: 'a' is not of type 'integer'"],
  [{ name: 5 }, "Validation failed. Failure reason: 'x' is a required property"],
  [{ x: 1, name: "it's" }, null],
  [
    { x: 1, name: ['a', { b: [1, 2.5, null, true] }] },
    "Validation failed for field 'name'. Failure reason: ['a', {'b': [1, 2.5, None, True]}] is not of type 'string'",
  ],
  [{ x: 1, extra: 1 }, null],
  [
    { x: 1, choice: 'c', num: -1 },
    "Validation failed for field 'num'. Failure reason: -1 is less than the minimum of 0",
  ],
  [
    { x: 1, flag: 'yes', choice: 'c' },
    "Validation failed for field 'flag'. Failure reason: 'yes' is not valid under any of the given schemas",
  ],
  [{ x: 'a', cfg: {} }, "Validation failed for field 'x'. Failure reason: 'a' is not of type 'integer'"],
  [
    { x: 1, cfg: { depth: 'd' }, num: -2 },
    "Validation failed for field 'num'. Failure reason: -2 is less than the minimum of 0",
  ],
  [
    { x: 1, name: { k: null, j: [] } },
    "Validation failed for field 'name'. Failure reason: {'k': None, 'j': []} is not of type 'string'",
  ],
  [{ x: 1, choice: null }, "Validation failed for field 'choice'. Failure reason: None is not one of ['a', 'b']"],
  [
    { x: 1, items: [1, 'b', 'c'] },
    "Validation failed for field 'items[2]'. Failure reason: 'c' is not of type 'integer'",
  ],
];

describe("ParameterSchemas (Prefect's parameter validation)", () => {
  const schemas = new ParameterSchemas();

  it.each(CASES)('%j -> %s', (parameters, expected) => {
    expect(schemas.validate(parameters, SCHEMA, { preprocess: true, ignoreRequired: false })).toBe(expected);
  });

  it('skips required parameters when told to, and validates without the pydantic fixes when told to', () => {
    expect(schemas.validate({}, SCHEMA, { preprocess: true, ignoreRequired: true })).toBeNull();
    const { tup: _tuple, ...properties } = SCHEMA.properties;
    const plain = { ...SCHEMA, properties };
    expect(schemas.validate({ x: 1, legacy: null }, plain, { preprocess: false, ignoreRequired: false })).toBe(
      "Validation failed for field 'legacy'. Failure reason: None is not of type 'integer'",
    );
  });

  it('reports every extra property at once under additionalProperties: false', () => {
    const closed = { type: 'object', properties: { a: { type: 'integer' } }, additionalProperties: false };
    expect(schemas.validate({ a: 1, z: 1, b: 2 }, closed, { preprocess: true, ignoreRequired: false })).toBe(
      "Validation failed. Failure reason: Additional properties are not allowed ('b', 'z' were unexpected)",
    );
  });

  it("answers a $ref that leads nowhere in referencing's words", () => {
    const dangling = { type: 'object', properties: { a: { $ref: '#/definitions/Nope' } } };
    expect(schemas.validate({ a: 1 }, dangling, { preprocess: true, ignoreRequired: false })).toBe(
      "Validation failed. Failure reason: PointerToNowhere: '/definitions/Nope' does not exist within {'type': 'object', 'properties': {'a': {'$ref': '#/definitions/Nope'}}}",
    );
  });

  it('names what makes a schema invalid', () => {
    expect(schemas.schemaProblem({ type: 'object', properties: { a: { type: 'integer' } } })).toBeNull();
    expect(schemas.schemaProblem(SCHEMA)).toBe(
      "[{'type': 'integer'}, {'type': 'string'}] is not of type 'object', 'boolean'",
    );
    expect(schemas.schemaProblem({ type: 'nonsense' })).toBe("'nonsense' is not valid under any of the given schemas");
  });
});

describe('pythonRepr', () => {
  it.each([
    [null, 'None'],
    [true, 'True'],
    [3, '3'],
    [2.5, '2.5'],
    [1e-5, '1e-05'],
    [1.5e-20, '1.5e-20'],
    ["it's", `"it's"`],
    ['a\'b"c', `'a\\'b"c'`],
    ['tab\there\n', "'tab\\there\\n'"],
    [{ a: [1, null] }, "{'a': [1, None]}"],
  ])('%j -> %s', (value, expected) => {
    expect(pythonRepr(value)).toBe(expected);
  });
});

describe("hydrateParameters (Prefect's placeholders)", () => {
  const context = { workspaceVariables: new Map<string, unknown>([['region', 'eu']]) };

  it('resolves json, none and workspace-variable placeholders and drops empty ones', () => {
    expect(
      hydrateParameters(
        {
          a: { __prefect_kind: 'json', value: '{"n": [1, 2]}' },
          b: { __prefect_kind: 'none', value: { c: { __prefect_kind: 'json', value: '5' } } },
          d: { __prefect_kind: 'json' },
          e: [1, { __prefect_kind: 'workspace_variable' }, 2],
          f: { __prefect_kind: 'workspace_variable', variable_name: 'region' },
          g: { __prefect_kind: 'jinja', template: 'plain text' },
          h: { __prefect_kind: 'other', value: 7 },
        },
        context,
      ),
    ).toEqual({ a: { n: [1, 2] }, b: { c: 5 }, e: [1, 2], f: 'eu', g: 'plain text', h: 7 });
  });

  it.each([
    [{ x: { __prefect_kind: 'workspace_variable', variable_name: 'nope' } }, "Variable 'nope' not found in workspace."],
    [
      { x: { __prefect_kind: 'json', value: '{bad' } },
      'Invalid JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)',
    ],
    [{ x: { __prefect_kind: 'none' } }, "Missing 'value' key in __prefect object"],
    [{ x: { __prefect_kind: 'jinja' } }, "Missing 'template' key in __prefect object"],
  ])('%j fails: %s', (parameters, message) => {
    expect(() => hydrateParameters(parameters, context)).toThrow(new HydrationError(message));
  });
});
