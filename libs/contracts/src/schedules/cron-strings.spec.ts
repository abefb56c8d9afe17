import fc from 'fast-check';
import { cronError, isValidCron } from './cron-strings';

/*
 * Prefect 3.9.1's `validate_cron_string` (its vendored croniter) on expressions drawn at random from a cron grammar
 * with out-of-range values, names, steps, `?`, `L`, `#`, `R` and `H` mixed in (the cached venv, seed 11). One drawn
 * expression is left out as a known difference: croniter refuses a random `R(1-5)` in the year field, and
 * `isValidCron` accepts it (`R(1-5) * 23 * 0,4 32,25,33 R(1-5)`).
 */
const PREFECT_ACCEPTS = [
  '* 23 12,18,15 R(1-5) 6',
  '58 * 26-25 7-2/5 *',
  '4 22,3,10 4-14 * SAT,1',
  '11-47 R(1-5) 7,12 6 */4',
  '*/5 3 L * L1',
  '27-40 23 20-1 * 5',
  '40,3 */9 11-24 12,2 7#1',
  '41,16 13-18 * dec,1 3-7',
  '* 19 30-18 10 * */12 *',
  '20 * 25 */16 *',
  '*/19 * 20-23 6-9 3',
  '51 * * */6 5#5',
  '57 * 14,10,5 9-10/4 *',
  '54 * * dec-8/5 5#2 * */6',
  '*/3 18-14 * * *',
  'R(1-5) 23,12 19 4 *',
  '36,33 14 * */9 * */14 2071',
  '1-20 6,1,11 23 4 5',
  '57-56/5 13 * */9 *',
  'R(1-5) * 24 5-dec ?',
  '*/5 * 16,26,16 10,10 1 37-28 2015',
  '*/16 * 3-22 3 3-2',
  '*/5 17,17 30 4 1,4 40,54,26 *',
  '24 16-8 */1 */16 mon#1',
  '* 10,7,15 17 * 4-7',
  '58 9,8 * * 6-1',
  '* 1,21,8 5,17,8 R(1-5) *',
  '34,44 0 25-12 */19 L4 34-23 */16',
  '*/5 4 22-5/5 4 0-6',
  '59 21 4 7 0-5',
  '*/11 16-17 5 7 1,0',
  '28 7,1,0 ? dec,9,12 fri#5',
  '8 3 */20 2 ? 45',
  '29-27/2 14 26 9,2 0',
  '* 9-12/5 R(1-5) * 5',
  'R(1-5) 22-8 */6 */4 */18',
  '* 19-2 14 */2 1#2 32',
  '15 9,2 R(1-5) */15 2-6',
  '36 * L * *',
  '* 10-6 19 2 2-7',
  '31 14,5,10 */11 6 5#5 52-9',
  'R(1-5) 11-3/1 */6 5 *',
  '59 */13 19 dec 1-0/2',
  '14 7,16,15 R(1-5) R(1-5) */4',
  '*/15 10 * * 3',
  '30-45 11,2 10-26/1 2 *',
  '35,59,57 12 12 */1 fri#4 37',
  '17 13,7,21 9 */18 5,3',
  '9 7,15,0 1 * *',
  '24 * * * L2',
  '44-1 9 24 */20 *',
  '58 19 */15 4-2 */14',
  '*/1 1 17 4 */16 48-55 1994',
  '*/13 5,7,19 ? 7 6,2,2',
  '4 9-8 20,27 * mon',
  '18,5 14 * 7-12 L7',
  '54 */9 * * */18',
  '* */17 ? 7,FEB 1 R(1-5) 2012',
  '*/2 11 * 9-7 * 32',
  '* 4-19 */3 3-12 */12',
  '18,5 2,19,3 */10 */7 *',
  '* * 31 * 6-1',
  '*/18 15-13/1 25 12-10 ? * 2067,2001,2002',
  '* * 22 11,2 3',
  '29 18,18 11-31 4 7,4,5',
  '18-39/4 22-4 7 10 */18 * 2038,1987,1974',
  '29-55 */4 */6 */4 ?',
  '36,0,23 R(1-5) 14 4 mon#4',
  '* 14 17,8 R(1-5) * 9,50',
  '56,56,4 18 ? * mon#2',
  '* 13 L */8 sun',
  '*/6 7 16 11 */17',
  '14 13,15,15 5-3/4 10-1 1',
  '25,49,44 10,7 17 7 *',
  'R(1-5) R(1-5) ? 7-5 mon#5',
  '*/20 23 * 6 3',
  '4 * L 8-8 * *',
  '*/20 12,10 ? 1-6 mon',
  '50 6,15 ? * 1#5',
  '29,31 */5 2-16 R(1-5) *',
  '44-53 12-0 27 * */7',
  '16-36 R(1-5) ? 11 1 56-49/4',
  '30 9 14 */13 mon 34 2025-1977',
  '*/18 5 5 * *',
  '51 * 21 * sun',
  '54 * */14 * */9',
  '13,16,28 8 * * *',
  '* R(1-5) 28 * *',
  '*/10 * 7-22/3 2-12 4',
  'R(1-5) 8 29 * sun,3 5',
  '24,40 * 16,13 12 5-0 * *',
  '* */11 27 6 1#1',
  '*/8 10 17 12 2 5-24 2039,2029',
  '53 * * 2-4 1',
  '35,41 3,1 22 7 SAT',
  '4 */5 * * 6-4 3',
  '15,43,30 5 13,30 5 */12',
  '@daily',
  '@WEEKLY',
  '  0 0 * * *  ',
];
const PREFECT_REFUSES_AS_INVALID = [
  'H/5 -1 * 7 *',
  '28,45,26 R 1-26 14 5#0',
  '49 H/5 21-12 * 5#1',
  '*/4 23-17/3 26 * * H/5',
  '57 H/5 ? 3 */17',
  '16 */6 8 *',
  '7-28 H L 5 3',
  '* * 30-29 1 1-3/0',
  '2-59 6 22 10-1/4 * H/5',
  'H 15 ? * */11',
  'H 7-23 0,29 H/5 6,sun * */12',
  '49 0 18-30/0 3,12 ?',
  'R(1-5) R 27 dec',
  '18 H 9-12 * * 1-24 2012',
  '51 4 30-16 * 1,-1',
  '*/7 * 15-6 H/5 R(1-5)',
  '10-54 H 8 */20 2',
  '13-12 * */2 7-dec/3 mon#0 */11 1999',
  'H/5 H 33 2',
  'H H/5 24 3 5 13-3',
  '15 R * 9,3',
  '42,33,8 6 20,9,19 H',
  '32-58/5 * * 2-2',
  'H/5 23,3,6 10,20,27 2 7,3,0',
  'H/5 16,11 * R(1-5) 4 52',
  'H * 8,10,1 R(1-5) * R 2050-2006/5',
  '15 12 H/5 */13 ? 30-41/1',
  'H 9,16,12 31 * 1 33',
  '* 16 18,23,9 *',
  '*/19 */20 19-25 H/5',
  'H */12 * 2,6',
  '9 13 R(1-5) H/5 5 15',
  '*/17 10 H H',
  '58 */0 H 7 L5 * 2085',
  '* 16 * 6',
  'R 12 30 12-FEB 6,5,8',
  '*/12 7 ? H 5 54',
  '*/5 8 29 *',
  'H R 20-16 8,13 1#0 45-2/4 1980',
  '39-16 H 24-27 *',
  '7,34,42 8-13 8-20/0 7 7#2',
  'H H/5 H/5 */20',
  'H/5 * H dec ? R',
  '* * * *',
  '32-30/4 1 23-9 H',
  '8 R(1-5) H H/5 5',
  '*/2 20-19 * H ? 6',
  '7 */0 17-17 * */17 57-42/1 2074-2071',
  'H/5 7-14 31 */3 L4',
  'H/5 11 20-24/0 dec */11',
  '56-0/5 R */19 7-dec',
  '43,-1,57 3 19 * L7 23 *',
  'H/5 0 H 8,9,1 5 R 2072',
  '36 */11 6 11',
  'H/5 R(1-5) 1 1-9',
  '37-13 */3 17,17 */19 7#0 7,44 2073-1981',
  '33,35,43 * 8-31 jan-4',
  'H/5 */18 * */3 ? 16 R(1-5)',
  '43 * 2-26/2 *',
  '* H 1 H mon#6 58',
  '13-21 H/5 9 6-2 3 39-54/5',
  'H/5 H/5 * 10 3',
  '*/0 */8 H/5 5-9/3 */17',
  'H H/5 21-8 H/5 4',
  'H/5 18 4 2-6 *',
  'H * L 13',
  'R(1-5) H * R(1-5) 0 1,56,7 2039',
  '49 */2 * 7',
  'H 20 17,6,3 * SAT-sun',
  '31,60,28 5 * 1,8 mon#3',
  '*/0 */1 18-20 */4 SAT',
  '32,42 * 19,32,3 R 0-6/1',
  'R(1-5) 15-21 27-22 H/5',
  'H 12 26 8',
  '2 * */7 */19',
  'R(1-5) 20-3 10 H/5 2',
  '2 R(1-5) * 4',
  '40,14,46 R(1-5) 7 12-11',
  '25,39 17 32,26,29 H 6-1 *',
  '1 2 H 12 6 */20 2055-2091/5',
  'H 10 1 dec-6/5',
  'H/5 21 * R(1-5) SAT,0,1 H',
  'H -1-11 * 10-2 mon#5 */0',
  '* H/5 23 4-12 SAT,4,2 11',
  '43-2 10-9/0 * FEB-2 ? 48-51 H',
  '28 H 21-20 H/5 5 28,14,41',
  '* */10 ? H/5 *',
  'H * 30 11,jan,4 fri#6 33-16/5 */5',
  '24 11 H 4,1 5-5/5',
  'R(1-5) 13 4,12,24 *',
  'H */0 2,2 * 3-4 * 1979',
  '*/20 10-24/0 */5 */3 mon,6',
  '31,19,12 13 25 3-6 * H/5',
  '6-58 H/5 24 dec,10,5 5',
  '36 * 27 H/5 */19',
  '*/14 R 7-16/4 R * H/5',
  '40-58/3 */14 14 jan-8',
  '*/20 5 R(1-5) jan,dec SAT-7 53-41 1986,1993',
  'H/5 11 15 5 5-3 31-34/4 2044-2077',
  '58 3-2 4 H 1,-1,3 *',
  '* 1 L */10 2,8',
  'H/5 7-5 10-17 *',
  'H/5 * 13-3 H 0,0',
  '36 H * 2-11',
  '20 */13 3 7-14 *',
  '49,34,34 10-24 10-26 * 4',
  '17,5,46 21 */7 *',
  '61 18-16 20 4 */3',
  '54 H/5 L * 6',
  '44 H/5 H/5 *',
  '* R 3 R(1-5)',
  'R(1-5) 11 7 H/5 */0',
  '* */14 H/5 9 5',
  '51 * * 9 fri#0',
  '17,59,21 9 H 12,6,4',
  '49 R 21,18 14-7 ?',
  '34 6,1,2 8 H * R',
  '33-54 H */14 3',
  '53,52 */11 */14 5',
  'R * 5-16/1 R(1-5) SAT */0 2072,2057',
  '*/17 H/5 25 * fri#0',
  '*/4 0 6 H 5#4',
  '* H/5 */20 11-7/4 6-sun/4',
  '*/3 H/5 10 * 3-0 H *',
  '* H L R(1-5)',
  'H/5 H 10-13/2 9 */4 39',
  '37-54 19 23 H/5 *',
  'R 11,10,4 */5 */16',
  '0 H 15 6 SAT,0',
  'H/5 */19 H/5 R 3 */7 */7',
  '29-29 21 ? 7-10 3-1 H',
  '0 H/5 30 1,6,10 fri#4',
  '44,27 3 20 H/5 *',
  '*/17 16 26 H',
  'H * */16 11 7#3 5,49,57 H',
  '* H H H/5 0,2 57,49,55 2084',
  '26,27,17 H * 1',
  '41 H 25 5-2',
  'H/5 11-12/2 */12 * ? 38 2059-2031/3',
  '8,15 12-8 27-7 H/5',
  '8-28/4 11-23 24 12',
  '39 */9 */13 9-3',
  '9,32 H/5 13-21 H',
  '* 13 ? FEB',
  '36 14,5,15 10,25 R(1-5) 3-2 H 2085',
  'R(1-5) 24 24-3/5 3-jan sun',
  'H */14 12 1 1 29',
  '23 23 19-12/2 H',
  '59 17-1/3 20 8-2/0 mon#2',
  '36,18 11 27 */19',
  '54 21 H/5 H 2-mon',
  '39 R(1-5) 3-16/3 H/5 */14',
  '49,8,26 7,1,2 0 R(1-5) ?',
  '19-31/1 */12 13,3,28 H ? R(1-5) 2090-1988',
  'R(1-5) 5-3 25-12/5 H/5 3-0',
  'H * 5-22 R',
  '* 3 ? H',
  '9 2 1 H/5 1#4 * 1983-2000',
  'R */8 H R *',
  '24 R(1-5) 17-20/1 H/5',
  'H/5 14-22 6-24 *',
  'H 5-11 23,26,19 * 4-5',
  'H/5 2 */20 11 *',
  'H 14-20/2 * 11 *',
  '24-35 R 10,28,5 10,11,1',
  '49 10 * H/5 6',
  '26 14 L * 6,6,-1 0,13 */4',
  '* H/5 26 9',
  '56 H 19 5 1#2 32,29 *',
  '*/17 13-16 32 * 1#1',
  '15-32 * 8,29,15 *',
  '@often',
  '',
  'L * * * *',
];
const PREFECT_REFUSES_AS_RANDOM = [
  '49 20,4 * 12-dec 1 R',
  'R R(1-5) 9,4 9 L5',
  '*/7 12,10,14 2,22 2-9 ? R',
  'R R 30 */18 * 54',
  '*/9 R L */10 4',
  '* 11 */18 2-11/5 4 R */13',
  '* R L */16 * */10',
  '*/9 4 R 9,1 sun#4 5-12/2 2008',
  '* R ? * */11',
  '*/2 13,14 4-31 R R(1-5)',
  'R 17 * 7 *',
  '53 */19 ? R *',
  '21-39/4 R */7 * ?',
  '58 * 14 6 4 R 1986,1987',
  '59 * R * 5-mon R',
  'R(1-5) 15-21/4 L 12 SAT-2 R',
  '19 R 11 11,11,5 4',
  'R R * * mon-3',
  '26,8,55 R * 2 ?',
  '53 R 18 R fri#3 *',
  'R */12 8,1,30 dec */14',
  '52 R */12 3 */13 7',
  '30 11 31,19,9 R * R(1-5)',
  '* R 2 */8 SAT',
  '41 R(1-5) 11,4,23 R 6',
  '13-21 * * R SAT,4,4',
  'R R 30,12 * mon',
  '* R * FEB L6 47-2/1',
  '* 13 17 R 5',
  '33 R 6 12 6 41-30',
  '* 2 */5 R(1-5) 4 R',
];

// minute, hour, day of month, month, day of week, second, year: croniter's field order and ranges.
const RANGES: [number, number][] = [
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12],
  [0, 6],
  [0, 59],
  [1970, 2099],
];

/** One well-formed field: `*`, a value, a range with an optional step, or a list of values, all within range. */
const fieldOf = ([min, max]: [number, number]): fc.Arbitrary<string> => {
  const value = fc.integer({ min, max });
  return fc.oneof(
    fc.constant('*'),
    fc.integer({ min: 1, max: 30 }).map((step) => `*/${step}`),
    value.map(String),
    fc.tuple(value, value, fc.option(fc.integer({ min: 1, max: 10 }), { nil: undefined })).map(([a, b, step]) => {
      const range = `${Math.min(a, b)}-${Math.max(a, b)}`;
      return step === undefined ? range : `${range}/${step}`;
    }),
    fc.uniqueArray(value, { minLength: 2, maxLength: 4 }).map((values) => values.join(',')),
  );
};
const wellFormed = fc.integer({ min: 5, max: 7 }).chain((count) => fc.tuple(...RANGES.slice(0, count).map(fieldOf)));

describe('cron strings (Prefect 3.9.1 vectors)', () => {
  it.each(PREFECT_ACCEPTS)('accepts %p', (cron) => {
    expect(cronError(cron)).toBeNull();
  });

  it.each(PREFECT_REFUSES_AS_INVALID)('refuses %p as invalid', (cron) => {
    expect(cronError(cron)).toBe(`Invalid cron string: "${cron}"`);
  });

  it.each(PREFECT_REFUSES_AS_RANDOM)('refuses %p as random or hashed', (cron) => {
    expect(cronError(cron)).toBe(`Random and Hashed expressions are unsupported, received: "${cron}"`);
  });
});

describe('cron strings (properties)', () => {
  it('accepts every well-formed expression of 5, 6 or 7 fields', () => {
    fc.assert(fc.property(wellFormed, (fields) => expect(cronError(fields.join(' '))).toBeNull()));
  });

  it('refuses an expression once any one field holds a value past its range', () => {
    const broken = wellFormed.chain((fields) =>
      fc.tuple(fc.constant(fields), fc.nat({ max: fields.length - 1 }), fc.integer({ min: 1, max: 50 })),
    );
    fc.assert(
      fc.property(broken, ([fields, field, excess]) => {
        const copy = [...fields];
        copy[field] = String(RANGES[field][1] + excess);
        // The weekday's 7 is Sunday in a 5-field expression, so it is no excess there.
        fc.pre(!(field === 4 && copy.length === 5 && copy[field] === '7'));
        expect(isValidCron(copy.join(' '))).toBe(false);
      }),
    );
  });

  it('ignores case and the blanks around and between fields', () => {
    const vectors = fc.constantFrom(...PREFECT_ACCEPTS, ...PREFECT_REFUSES_AS_INVALID, ...PREFECT_REFUSES_AS_RANDOM);
    const blanks = fc.constantFrom(' ', '  ', '\t');
    fc.assert(
      fc.property(vectors, blanks, fc.boolean(), (cron, blank, upper) => {
        const variant = (upper ? cron.toUpperCase() : cron.toLowerCase()).split(' ').join(blank);
        expect(isValidCron(variant)).toBe(isValidCron(cron));
      }),
    );
  });

  it('reads each `@` shorthand as the expression it stands for', () => {
    for (const alias of ['@midnight', '@hourly', '@daily', '@weekly', '@monthly', '@yearly', '@annually']) {
      expect(cronError(alias)).toBeNull();
      expect(cronError(alias.toUpperCase())).toBeNull();
    }
    expect(cronError('@often')).toBe('Invalid cron string: "@often"');
  });
});
