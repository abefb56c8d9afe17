import fc from 'fast-check';
import { parseIntervalSeconds } from './durations';

/*
 * Seconds Prefect 3.9.1's `IntervalSchedule` reads from these strings (pydantic's `timedelta`, the cached venv).
 * Left out as known differences: pydantic also reads `1 day` and refuses the lower-case `p1d` and the clock
 * duration without seconds `1:30`; here it is the other way round.
 */
const PREFECT_SECONDS: [string, number][] = [
  ['P1D', 86400],
  ['PT1H30M', 5400],
  ['P1Y', 31536000],
  ['P1M', 2592000],
  ['P2W', 1209600],
  ['P1DT2H3M4S', 93784],
  ['PT0.5S', 0.5],
  ['PT1,5S', 1.5],
  ['P1.5D', 129600],
  ['PT36H', 129600],
  ['+PT1M', 60],
  ['-P1D', -86400],
  ['01:30:00', 5400],
  ['00:00:01.25', 1.25],
  ['25:00:00', 90000],
  ['-00:00:30', -30],
];
const PREFECT_REFUSES = ['P', 'PT', 'soon', ''];

describe('interval durations (Prefect 3.9.1 vectors)', () => {
  it.each(PREFECT_SECONDS)('reads %p as %p seconds', (text, seconds) => {
    expect(parseIntervalSeconds(text)).toBe(seconds);
  });

  it.each(PREFECT_REFUSES)('does not read %p', (text) => {
    expect(parseIntervalSeconds(text)).toBeNull();
  });
});

describe('interval durations (properties)', () => {
  const count = fc.nat({ max: 400 });

  it('reads an ISO-8601 duration as the sum of its parts, years as 365 days and months as 30', () => {
    const parts = fc.record({ Y: count, M: count, W: count, D: count, h: count, m: count, s: count });
    fc.assert(
      fc.property(parts, fc.constantFrom('', '+', '-'), ({ Y, M, W, D, h, m, s }, sign) => {
        const text = `${sign}P${Y}Y${M}M${W}W${D}DT${h}H${m}M${s}S`;
        const seconds = (((Y * 365 + M * 30 + W * 7 + D) * 24 + h) * 60 + m) * 60 + s;
        expect(parseIntervalSeconds(text)).toBe(sign === '-' ? -seconds : seconds);
      }),
    );
  });

  it('reads a clock duration as hours, minutes and seconds', () => {
    const sixty = fc.nat({ max: 59 });
    fc.assert(
      fc.property(count, sixty, sixty, (h, m, s) => {
        const two = (n: number) => String(n).padStart(2, '0');
        expect(parseIntervalSeconds(`${h}:${two(m)}:${two(s)}`)).toBe(h * 3600 + m * 60 + s);
      }),
    );
  });

  it('takes finite numbers and numeric strings as seconds, and nothing else', () => {
    const finite = fc.double({ noNaN: true, noDefaultInfinity: true });
    fc.assert(fc.property(finite, (seconds) => expect(parseIntervalSeconds(seconds)).toBe(seconds)));
    fc.assert(fc.property(fc.integer(), (seconds) => expect(parseIntervalSeconds(` ${seconds} `)).toBe(seconds)));
    for (const value of [Infinity, NaN, null, undefined, true, {}, [60]]) {
      expect(parseIntervalSeconds(value)).toBeNull();
    }
  });
});
