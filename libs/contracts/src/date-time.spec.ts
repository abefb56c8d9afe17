import fc from 'fast-check';
import { formatDateTime, parseDateTime } from './date-time';

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

  it.each(['', 'yesterday', '2026-13-01T00:00:00Z', '2026-02-30T00:00:00Z', '2026-08-21T25:00:00Z', 12, null, {}])(
    'rejects %p',
    (input) => {
      expect(parseDateTime(input)).toBeNull();
    },
  );

  it('round-trips every instant through Python str() and isoformat() forms', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('1970-01-01'), max: new Date('2200-01-01'), noInvalidDate: true }), (date) => {
        const iso = formatDateTime(date)!;
        const pythonStr = iso.replace('T', ' ').replace('Z', '000+00:00');
        expect(parseDateTime(iso)?.getTime()).toBe(date.getTime());
        expect(parseDateTime(pythonStr)?.getTime()).toBe(date.getTime());
      }),
    );
  });
});
