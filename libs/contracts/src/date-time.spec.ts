import fc from 'fast-check';
import { formatDateTime, formatPreciseDateTime, parseDateTime, parsePreciseDateTime } from './date-time';

describe('parseDateTime', () => {
  it.each([
    ['2026-08-21T12:00:10.123456+00:00', '2026-08-21T12:00:10.123Z'],
    ['2026-08-21 12:00:10.123456+00:00', '2026-08-21T12:00:10.123Z'],
    ['2026-08-21 12:00:10+00:00', '2026-08-21T12:00:10.000Z'],
    ['2026-08-21T12:00:10Z', '2026-08-21T12:00:10.000Z'],
    ['2026-08-21T12:00:10', '2026-08-21T12:00:10.000Z'],
    ['2026-08-21T14:00:10+02:00', '2026-08-21T12:00:10.000Z'],
    ['2026-08-21T07:30:10-0430', '2026-08-21T12:00:10.000Z'],
    ['2026-08-21T12:00', '2026-08-21T12:00:00.000Z'],
    ['2026-08-21', '2026-08-21T00:00:00.000Z'],
  ])('accepts %s', (input, expected) => {
    expect(parseDateTime(input)?.toISOString()).toBe(expected);
  });

  // Epoch seconds, and milliseconds past 2e10, as pydantic's lax mode reads numbers and numeric strings.
  it.each([
    [1700000000, '2023-11-14T22:13:20.000Z'],
    [1700000000.5, '2023-11-14T22:13:20.500Z'],
    ['1700000000', '2023-11-14T22:13:20.000Z'],
    [1700000000000, '2023-11-14T22:13:20.000Z'],
    [2e10, '2603-10-11T11:33:20.000Z'],
    [2e10 + 1, '1970-08-20T11:33:20.001Z'],
    [-1, '1969-12-31T23:59:59.000Z'],
  ])('accepts the epoch number %p', (input, expected) => {
    expect(parseDateTime(input)?.toISOString()).toBe(expected);
  });

  it.each(['', 'yesterday', '2026-13-01T00:00:00Z', '2026-02-30T00:00:00Z', '2026-08-21T25:00:00Z', true, null, {}])(
    'rejects %p',
    (input) => {
      expect(parseDateTime(input)).toBeNull();
    },
  );

  it('round-trips every instant through Python str() and isoformat() forms', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('1970-01-01'), max: new Date('2200-01-01'), noInvalidDate: true }),
        (date) => {
          const iso = formatDateTime(date)!;
          const pythonStr = iso.replace('T', ' ').replace('Z', '000+00:00');
          expect(parseDateTime(iso)?.getTime()).toBe(date.getTime());
          expect(parseDateTime(pythonStr)?.getTime()).toBe(date.getTime());
        },
      ),
    );
  });
});

describe('formatDateTime of a parsed date-time', () => {
  it.each([
    ['2026-08-21T14:00:10+02:00', '2026-08-21T14:00:10+02:00'],
    ['2026-08-21 14:00:10.5+0200', '2026-08-21T14:00:10.500000+02:00'],
    ['2026-08-21T07:30:10.123456789-04:30', '2026-08-21T07:30:10.123456-04:30'],
    ['2026-08-21T14:00+02', '2026-08-21T14:00:00+02:00'],
    ['2026-08-21T12:00:10+00:00', '2026-08-21T12:00:10.000Z'],
    ['2026-08-21T12:00:10', '2026-08-21T12:00:10.000Z'],
  ])('renders %s as pydantic echoes it: %s', (input, expected) => {
    expect(formatDateTime(parseDateTime(input))).toBe(expected);
  });
});

describe('parsePreciseDateTime', () => {
  it.each([
    ['2026-08-21T12:00:10.123456Z', '2026-08-21T12:00:10.123456Z'],
    ['2026-08-21T14:00:10.000001+02:00', '2026-08-21T12:00:10.000001Z'],
    ['2026-08-21 12:00:10.1234567+00:00', '2026-08-21T12:00:10.123456Z'],
    ['2026-08-21T12:00:10', '2026-08-21T12:00:10.000000Z'],
    ['2026-08-21', '2026-08-21T00:00:00.000000Z'],
  ])('keeps the microseconds of %s', (input, expected) => {
    expect(parsePreciseDateTime(input)).toBe(expected);
  });

  it('rejects what parseDateTime rejects, and renders a Date with zero microseconds', () => {
    expect(parsePreciseDateTime('2026-02-30T00:00:00Z')).toBeNull();
    expect(parsePreciseDateTime(true)).toBeNull();
    expect(parsePreciseDateTime(new Date('2026-08-21T12:00:10.123Z'))).toBe('2026-08-21T12:00:10.123000Z');
    expect(formatPreciseDateTime(new Date('2026-08-21T12:00:10.5Z'))).toBe('2026-08-21T12:00:10.500000Z');
  });

  it('orders texts as their instants, to the microsecond', () => {
    const micros = fc.bigInt({ min: 0n, max: 7_258_118_400_000_000n });
    const text = (us: bigint) => {
      const base = new Date(Number(us / 1000n)).toISOString().slice(0, 23);
      return parsePreciseDateTime(`${base}${String(us % 1000n).padStart(3, '0')}Z`)!;
    };
    fc.assert(
      fc.property(micros, micros, (a, b) => {
        expect(Math.sign(text(a).localeCompare(text(b)))).toBe(a < b ? -1 : a > b ? 1 : 0);
      }),
    );
  });
});
