import fc from 'fast-check';
import { MAX_RRULE_LENGTH, parseRRule, RRULE_FREQUENCIES, rruleError } from './rrule-strings';

/*
 * Prefect 3.9.1's `RRuleSchedule` (dateutil's `rrulestr`) on these strings (the cached venv). Two strings it accepts
 * are left out as known differences, refused here: `FREQ=DAILY;UNTIL=20300101T000000Z` (an aware UNTIL without a
 * DTSTART; test/api/deployment-schedules.test.ts pins the refusal) and a DTSTART written `2024-01-01`, which
 * dateutil's lenient date parser reads.
 */
const PREFECT_ACCEPTS = [
  'FREQ=DAILY',
  'FREQ=WEEKLY;BYDAY=MO,WE,FR',
  'FREQ=MONTHLY;BYDAY=-1FR',
  'FREQ=YEARLY;BYMONTH=1,7;BYMONTHDAY=1',
  'RRULE:FREQ=HOURLY;INTERVAL=4',
  'DTSTART:20240101T090000\nRRULE:FREQ=DAILY;COUNT=5',
  'DTSTART;TZID=America/New_York:20240101T090000\nRRULE:FREQ=WEEKLY;UNTIL=20250101T000000Z',
  'FREQ=DAILY;UNTIL=20300101T000000',
  'FREQ=DAILY;BYSETPOS=-1;BYHOUR=1,2',
  'DTSTART:20240101T090000\nRRULE:FREQ=DAILY\nRDATE:20240105T090000\nEXDATE:20240102T090000',
  'freq=daily;byday=mo',
  'FREQ=MINUTELY;BYWEEKDAY=TU',
  'FREQ=DAILY;BYHOUR=1;BYMINUTE=0;BYSECOND=0',
  'FREQ=DAILY;BYEASTER=0',
  'DTSTART:20240101\nRRULE:FREQ=DAILY\nEXRULE:FREQ=WEEKLY',
];
const PREFECT_REFUSES = [
  'DTSTART:20240101T090000Z\nRRULE:FREQ=DAILY;UNTIL=20250101T000000',
  'FREQ=SOMETIMES',
  'FREQ=DAILY;BYSETPOS=0',
  'FREQ=DAILY;BYSETPOS=367',
  'FREQ=WEEKLY;WKST=XX',
  'FREQ=WEEKLY;BYDAY=MX',
  'FREQ=DAILY;COLOR=red',
  'FREQ=DAILY;INTERVAL',
  'DTSTART:20240101T090000,20240102T090000\nRRULE:FREQ=DAILY',
  'RRULE;X=1:FREQ=DAILY',
  'DTSTART:20240101T090000\nFOO:BAR',
  ' ',
];

const DAYS = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'];
const integers = (min: number, max: number) => fc.uniqueArray(fc.integer({ min, max }), { minLength: 1, maxLength: 4 });
/** A well-formed rule: FREQ and any of INTERVAL, COUNT, BYDAY, BYHOUR, BYMINUTE, BYMONTH, as name=value pairs. */
const ruleParts = fc.record(
  {
    FREQ: fc.constantFrom(...RRULE_FREQUENCIES),
    INTERVAL: fc.integer({ min: 1, max: 100 }).map(String),
    COUNT: fc.integer({ min: 1, max: 1000 }).map(String),
    BYDAY: fc.uniqueArray(fc.constantFrom(...DAYS), { minLength: 1, maxLength: 7 }).map((days) => days.join(',')),
    BYHOUR: integers(0, 23).map((hours) => hours.join(',')),
    BYMINUTE: integers(0, 59).map((minutes) => minutes.join(',')),
    BYMONTH: integers(1, 12).map((months) => months.join(',')),
  },
  { requiredKeys: ['FREQ'] },
);
const ruleText = (parts: Record<string, string | undefined>): string =>
  Object.entries(parts)
    .map(([name, value]) => `${name}=${String(value)}`)
    .join(';');

describe('RRULE strings (Prefect 3.9.1 vectors)', () => {
  it.each(PREFECT_ACCEPTS)('accepts %p', (rrule) => {
    expect(rruleError(rrule)).toBeNull();
  });

  it.each(PREFECT_REFUSES)('refuses %p', (rrule) => {
    expect(rruleError(rrule)).toMatch(/^Invalid RRule string "/);
  });

  it("gives dateutil's reasons that Prefect passes on", () => {
    expect(rruleError('FREQ=DAILY;COLOR=red')).toBe(
      'Invalid RRule string "FREQ=DAILY;COLOR=red": unknown parameter \'COLOR\'',
    );
    expect(rruleError(' ')).toBe('Invalid RRule string " ": empty string');
    expect(rruleError('DTSTART:20240101T090000\nFOO:BAR')).toBe(
      'Invalid RRule string "DTSTART:20240101T090000\nFOO:BAR": unsupported property: FOO',
    );
    expect(rruleError('DTSTART:20240101T090000Z\nRRULE:FREQ=DAILY;UNTIL=20250101T000000')).toMatch(
      /UNTIL values must be specified in UTC when DTSTART is timezone-aware$/,
    );
  });
});

describe('RRULE strings (properties)', () => {
  it('parses every well-formed rule into its parameters, whatever its case', () => {
    fc.assert(
      fc.property(ruleParts, fc.boolean(), (parts, lower) => {
        const text = ruleText(parts);
        const parsed = parseRRule(lower ? text.toLowerCase() : text);
        expect(parsed).toMatchObject({ dtstart: null, isSet: false });
        expect(Object.fromEntries(parsed.rules[0])).toEqual(parts);
      }),
    );
  });

  it('reads a rule with its DTSTART, and as a set once an RDATE or EXDATE joins it', () => {
    fc.assert(
      fc.property(ruleParts, fc.constantFrom('', 'RDATE', 'EXDATE'), (parts, extra) => {
        const extras = extra ? [`${extra}:20260105T090000`] : [];
        const lines = ['DTSTART:20260101T090000', `RRULE:${ruleText(parts)}`, ...extras];
        const parsed = parseRRule(lines.join('\n'));
        expect(parsed.dtstart).toBe('20260101T090000');
        expect(parsed.isSet).toBe(extra !== '');
      }),
    );
  });

  it('refuses a rule with a parameter dateutil does not know', () => {
    // No dateutil parameter starts with X.
    const unknown = fc.stringMatching(/^X[A-Z]{2,7}$/);
    fc.assert(
      fc.property(ruleParts, unknown, (parts, name) => {
        expect(rruleError(`${ruleText(parts)};${name}=1`)).toMatch(new RegExp(`unknown parameter '${name}'$`));
      }),
    );
  });

  it("refuses a valid rule longer than Prefect's limit, naming the limit and the length", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 500 }), (extra) => {
        const head = 'FREQ=DAILY;BYHOUR=';
        const hours = '1,'.repeat(Math.ceil((MAX_RRULE_LENGTH - head.length) / 2) + extra);
        const rrule = `${head}${hours}1`;
        expect(rruleError(rrule)).toBe(
          `Invalid RRule string "${rrule.slice(0, 40)}..."\nMax length is ${MAX_RRULE_LENGTH}, got ${rrule.length}`,
        );
      }),
      { numRuns: 20 },
    );
  });
});
