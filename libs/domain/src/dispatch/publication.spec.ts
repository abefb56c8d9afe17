import fc from 'fast-check';
import { inTimeWindow } from './publication';

describe('inTimeWindow', () => {
  const at = (s: number) => new Date(Date.UTC(2026, 0, 1) + s * 1000);

  it('holds a time within both ends, ends inclusive, an open end holding anything', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -50, max: 50 }),
        fc.option(fc.integer({ min: -50, max: 50 })),
        fc.option(fc.integer({ min: -50, max: 50 })),
        (t, a, b) => {
          const window = { after: a === null ? null : at(a), before: b === null ? null : at(b) };
          expect(inTimeWindow(at(t), window)).toBe((a === null || t >= a) && (b === null || t <= b));
        },
      ),
    );
  });

  it('holds a run without a time only in a window open at both ends', () => {
    expect(inTimeWindow(null, { after: null, before: null })).toBe(true);
    expect(inTimeWindow(null, { after: at(0), before: null })).toBe(false);
    expect(inTimeWindow(null, { after: null, before: at(0) })).toBe(false);
  });
});
