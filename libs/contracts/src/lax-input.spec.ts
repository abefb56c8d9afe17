import { laxBool, laxFloat, laxInt, laxUuid, uuidError } from './lax-input';

// Expected values from pydantic 2.14.4 (Prefect 3.9.1's), `TypeAdapter(T).validate_json(...)`.
describe('lax input, as pydantic v2 converts JSON values', () => {
  it.each([
    [true, 1],
    [false, 0],
    ['2', 2],
    [' 2 ', 2],
    ['+2', 2],
    ['-2', -2],
    ['1_000', 1000],
    ['2.0', 2],
    ['2.00', 2],
    ['00012', 12],
    ['\t3\n', 3],
  ])('int: %p is %p', (input, expected) => expect(laxInt(input)).toBe(expected));

  it.each(['2.5', 'abc', '1e3', '0x10', '', '- 2', '2.', '1__0', '_1', '1_', 'Infinity', '1,5', [1], null])(
    'int: %p is refused (left as it is)',
    (input) => expect(laxInt(input)).toBe(input),
  );

  it.each([
    [true, 1],
    ['1.5', 1.5],
    [' 1.5 ', 1.5],
    ['1e3', 1000],
    ['.5', 0.5],
    ['2.', 2],
    ['1_0.5', 10.5],
  ])('float: %p is %p', (input, expected) => expect(laxFloat(input)).toBe(expected));

  it.each(['abc', '1__0', '0b1', '1,5', [1]])('float: %p is refused', (input) => expect(laxFloat(input)).toBe(input));

  it.each([
    [1, true],
    [0, false],
    [1.0, true],
    ['yes', true],
    ['on', true],
    ['Yes', true],
    ['TRUE', true],
    ['t', true],
    ['y', true],
    ['1', true],
    ['f', false],
    ['n', false],
    ['0', false],
    ['off', false],
    ['no', false],
  ])('bool: %p is %p', (input, expected) => expect(laxBool(input)).toBe(expected));

  it.each([2, 0.5, ' true ', '2', 'maybe', '', [1], null])('bool: %p is refused', (input) =>
    expect(laxBool(input)).toBe(input),
  );

  const canonical = '0f2a6a3c-1b2d-4e5f-8a9b-0c1d2e3f4a5b';
  it.each([canonical, canonical.toUpperCase(), canonical.replace(/-/g, ''), `{${canonical}}`, `urn:uuid:${canonical}`])(
    'UUID: %p is the canonical form',
    (input) => expect(laxUuid(input)).toBe(canonical),
  );

  it.each([
    ['bad', 'invalid length: found 3'],
    ['', 'invalid length: found 0'],
    ['ab'.repeat(20), 'invalid length: found 40'],
    ['0f2a6a3c-1b2d-4e5f-8a9b-0c1d2e3f4a5', 'invalid group length in group 4: expected 12, found 11'],
    ['0f2a6a3c-1b2d-4e5f-8a9b-0c1d2e3f4a5bb', 'invalid group length in group 4: expected 12, found 13'],
    ['0f2a6a3c-1b2d4-e5f-8a9b-0c1d2e3f4a5b', 'invalid group length in group 1: expected 4, found 5'],
    ['0f2a6a3c1b2d4e5f8a9b0c1d2e3f4a5g', 'invalid character: found `g` at 31'],
    ['0f2a6a3c-1b2d-4e5f-8a9b-0c1d2e3f4a5g', 'invalid character: found `g` at 35'],
    ['0f2a6a3c-1b2d-4e5f8a9b-0c1d2e3f4a5b', 'invalid group count: expected 5, found 4'],
    ['0f2a6a3c-1b2d-4e5f-8a9b-0c1d2e3f4a5b-', 'invalid group count: expected 5, found 6'],
    ['{0f2a6a3c-1b2d-4e5f-8a9b-0c1d2e3f4a5b', 'invalid character: found `{` at 0'],
    ['urn:uuid:0f2a6a3c1b2d4e5f8a9b0c1d2e3f4a5b', 'invalid group count: expected 5, found 1'],
    ['0f2a6a3c_1b2d_4e5f_8a9b_0c1d2e3f4a5b', 'invalid character: found `_` at 8'],
    [' 0f2a6a3c-1b2d-4e5f-8a9b-0c1d2e3f4a5b', 'invalid character: found ` ` at 0'],
  ])('UUID: %p is refused with "%s"', (input, error) => {
    expect(laxUuid(input)).toBe(input);
    expect(uuidError(input)).toBe(error);
  });
});
