import fc from 'fast-check';
import { anchorRRule } from './rrule-anchor';

const NOW = new Date('2026-08-21T12:34:56.789Z');

describe('anchorRRule', () => {
  it.each([
    ['a daily rule', 'FREQ=DAILY;BYHOUR=9', 'DTSTART:20200101T000000\nFREQ=DAILY;BYHOUR=9'],
    ['a counted minutely rule', 'FREQ=MINUTELY;COUNT=5', 'DTSTART:20200101T000000\nFREQ=MINUTELY;COUNT=5'],
    [
      'a rule set',
      'RRULE:FREQ=MINUTELY\nRDATE:20260101T000000',
      'DTSTART:20200101T000000\nRRULE:FREQ=MINUTELY\nRDATE:20260101T000000',
    ],
    ['a minutely rule', 'FREQ=MINUTELY;INTERVAL=15', 'DTSTART:20260821T123000\nFREQ=MINUTELY;INTERVAL=15'],
    ['a secondly rule', 'FREQ=SECONDLY;INTERVAL=7', 'DTSTART:20260821T123452\nFREQ=SECONDLY;INTERVAL=7'],
  ])('anchors %s as Prefect does', (_case, rrule, expected) => {
    expect(anchorRRule(rrule, 'UTC', NOW)).toBe(expected);
  });

  it('reads the wall clock in the schedule time zone (PrefectHQ/prefect#22455)', () => {
    expect(anchorRRule('FREQ=MINUTELY;INTERVAL=30', 'America/New_York', NOW)).toBe(
      'DTSTART:20260821T083000\nFREQ=MINUTELY;INTERVAL=30',
    );
  });

  it('leaves anchored and unparseable rules alone', () => {
    expect(anchorRRule('DTSTART:20250101T000000\nRRULE:FREQ=HOURLY', 'UTC', NOW)).toBe(
      'DTSTART:20250101T000000\nRRULE:FREQ=HOURLY',
    );
    expect(anchorRRule('FREQ=NEVER', 'UTC', NOW)).toBe('FREQ=NEVER');
  });

  it('keeps a frequent rule in phase with the legacy 2020 anchor, at most one period before now', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 720 }),
        fc.constantFrom('SECONDLY', 'MINUTELY'),
        fc.date({ min: new Date('2020-01-02'), max: new Date('2100-01-01'), noInvalidDate: true }),
        (interval, freq, now) => {
          const period = interval * (freq === 'SECONDLY' ? 1 : 60) * 1000;
          const [, stamp] =
            /^DTSTART:(\d{8}T\d{6})\n/.exec(anchorRRule(`FREQ=${freq};INTERVAL=${interval}`, 'UTC', now)) ?? [];
          const anchor = Date.parse(stamp.replace(/(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})/, '$1-$2-$3T$4:$5:$6Z'));
          expect((anchor - Date.UTC(2020, 0, 1)) % period).toBe(0);
          expect(anchor).toBeLessThanOrEqual(now.getTime());
          expect(now.getTime() - anchor).toBeLessThan(period);
        },
      ),
    );
  });
});
