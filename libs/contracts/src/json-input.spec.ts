import fc from 'fast-check';
import { isTooDeep, MAX_JSON_DEPTH, unstorableStrings } from './json-input';

const nest = (depth: number): unknown => (depth === 0 ? 1 : { a: nest(depth - 1) });

describe('isTooDeep', () => {
  it('accepts a value nested exactly MAX_JSON_DEPTH deep and refuses one level more', () => {
    expect(isTooDeep(nest(MAX_JSON_DEPTH))).toBe(false);
    expect(isTooDeep(nest(MAX_JSON_DEPTH + 1))).toBe(true);
  });

  it('does not overflow the stack on a value nested 100,000 deep', () => {
    expect(isTooDeep(JSON.parse('['.repeat(100_000) + ']'.repeat(100_000)))).toBe(true);
  });
});

describe('unstorableStrings', () => {
  it('reports a NUL character in a value or a key, and a lone surrogate, where they are', () => {
    expect(unstorableStrings({ a: ['ok', 'x\u0000'], ['k\u0000']: 1, s: '\udc00', pair: '\ud83d\ude00' })).toEqual([
      expect.objectContaining({ type: 'value_error', loc: ['body', 'a', 1], input: 'x\u0000' }),
      expect.objectContaining({ type: 'value_error', loc: ['body', 'k\u0000'], input: 'k\u0000' }),
      expect.objectContaining({ type: 'string_unicode', loc: ['body', 's'], input: '\udc00' }),
    ]);
  });

  it('lets every JSON value of well-formed strings without NUL through', () => {
    const text = fc.string({ unit: 'grapheme' }).filter((s) => !s.includes('\u0000'));
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: 'grapheme' }), (value) => {
        fc.pre(JSON.stringify(value).includes('\\u0000') === false);
        expect(unstorableStrings(value)).toEqual([]);
      }),
    );
    fc.assert(fc.property(text, (value) => unstorableStrings(value).length === 0));
  });
});
