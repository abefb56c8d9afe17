import fc from 'fast-check';
import { datesToSchedule, scheduleDates, SchedulingWindow } from './schedule-dates';
import type { Schedule } from './schedule-types';
import { scheduledRuns } from './scheduled-runs';
import { pythonDateTimeString } from './zone-clock';

const PREFECT_DEFAULTS: SchedulingWindow = {
  minRuns: 3,
  maxRuns: 100,
  minScheduledTimeSeconds: 3600,
  maxScheduledTimeSeconds: 100 * 86400,
};

const dateStrings = (schedule: Schedule, start: string, n: number): string[] =>
  [...scheduleDates(schedule, { n, start: new Date(start), end: null })].map((date) =>
    pythonDateTimeString(date.instant, date.offset),
  );

/*
 * Expected values computed with the real Prefect 3.9.1 (the cached venv, Python 3.11): `str(d)` for each `d` of
 * `Schedule(**schedule)._get_dates_generator(n=n, start=start)`, the generator the scheduler service uses. They are
 * what a scheduled run's idempotency key ends with.
 */
const PREFECT_DATES: [string, Schedule | { cron: string; timezone: string }, string, number, string[]][] = [
  [
    'interval daily 09:00 America/New_York spring-forward',
    { interval: 86400, anchor_date: '2026-01-05T14:00:00Z', timezone: 'America/New_York' },
    '2026-03-07T00:00:00Z',
    4,
    [
      '2026-03-07 09:00:00-05:00',
      '2026-03-08 09:00:00-04:00',
      '2026-03-09 09:00:00-04:00',
      '2026-03-10 09:00:00-04:00',
    ],
  ],
  [
    'interval daily 09:00 America/New_York fall-back',
    { interval: 86400, anchor_date: '2026-01-05T14:00:00Z', timezone: 'America/New_York' },
    '2026-10-31T00:00:00Z',
    4,
    [
      '2026-10-31 09:00:00-04:00',
      '2026-11-01 09:00:00-05:00',
      '2026-11-02 09:00:00-05:00',
      '2026-11-03 09:00:00-05:00',
    ],
  ],
  [
    'interval daily 09:00 Europe/London spring-forward',
    { interval: 86400, anchor_date: '2026-01-05T09:00:00Z', timezone: 'Europe/London' },
    '2026-03-28T00:00:00Z',
    4,
    [
      '2026-03-28 09:00:00+00:00',
      '2026-03-29 09:00:00+01:00',
      '2026-03-30 09:00:00+01:00',
      '2026-03-31 09:00:00+01:00',
    ],
  ],
  [
    'interval daily 09:00 Europe/London fall-back',
    { interval: 86400, anchor_date: '2026-01-05T09:00:00Z', timezone: 'Europe/London' },
    '2026-10-24T00:00:00Z',
    4,
    [
      '2026-10-24 09:00:00+01:00',
      '2026-10-25 09:00:00+00:00',
      '2026-10-26 09:00:00+00:00',
      '2026-10-27 09:00:00+00:00',
    ],
  ],
  [
    'interval hourly America/New_York spring-forward',
    { interval: 3600, anchor_date: '2026-01-01T00:00:00Z', timezone: 'America/New_York' },
    '2026-03-08T05:00:00Z',
    4,
    [
      '2026-03-08 00:00:00-05:00',
      '2026-03-08 01:00:00-05:00',
      '2026-03-08 03:00:00-04:00',
      '2026-03-08 04:00:00-04:00',
    ],
  ],
  [
    'interval hourly America/New_York fall-back',
    { interval: 3600, anchor_date: '2026-01-01T00:00:00Z', timezone: 'America/New_York' },
    '2026-11-01T04:00:00Z',
    4,
    [
      '2026-11-01 00:00:00-04:00',
      '2026-11-01 01:00:00-04:00',
      '2026-11-01 02:00:00-05:00',
      '2026-11-01 03:00:00-05:00',
    ],
  ],
  [
    'interval 90 minutes America/New_York spring-forward',
    { interval: 5400, anchor_date: '2026-01-01T00:00:00Z', timezone: 'America/New_York' },
    '2026-03-08T05:00:00Z',
    4,
    [
      '2026-03-08 01:00:00-05:00',
      '2026-03-08 03:30:00-04:00',
      '2026-03-08 05:00:00-04:00',
      '2026-03-08 06:30:00-04:00',
    ],
  ],
  [
    'interval 90 minutes America/New_York fall-back',
    { interval: 5400, anchor_date: '2026-01-01T00:00:00Z', timezone: 'America/New_York' },
    '2026-11-01T04:00:00Z',
    4,
    [
      '2026-11-01 00:30:00-04:00',
      '2026-11-01 01:00:00-05:00',
      '2026-11-01 02:30:00-05:00',
      '2026-11-01 04:00:00-05:00',
    ],
  ],
  [
    'interval hourly Europe/London spring-forward',
    { interval: 3600, anchor_date: '2026-01-01T00:00:00Z', timezone: 'Europe/London' },
    '2026-03-29T00:00:00Z',
    4,
    [
      '2026-03-29 00:00:00+00:00',
      '2026-03-29 02:00:00+01:00',
      '2026-03-29 03:00:00+01:00',
      '2026-03-29 04:00:00+01:00',
    ],
  ],
  [
    'interval hourly Europe/London fall-back',
    { interval: 3600, anchor_date: '2026-01-01T00:00:00Z', timezone: 'Europe/London' },
    '2026-10-25T00:00:00Z',
    4,
    [
      '2026-10-25 01:00:00+01:00',
      '2026-10-25 02:00:00+00:00',
      '2026-10-25 03:00:00+00:00',
      '2026-10-25 04:00:00+00:00',
    ],
  ],
  [
    'interval 90 minutes Europe/London spring-forward',
    { interval: 5400, anchor_date: '2026-01-01T00:00:00Z', timezone: 'Europe/London' },
    '2026-03-29T00:00:00Z',
    4,
    [
      '2026-03-29 00:00:00+00:00',
      '2026-03-29 02:30:00+01:00',
      '2026-03-29 04:00:00+01:00',
      '2026-03-29 05:30:00+01:00',
    ],
  ],
  [
    'interval 90 minutes Europe/London fall-back',
    { interval: 5400, anchor_date: '2026-01-01T00:00:00Z', timezone: 'Europe/London' },
    '2026-10-25T00:00:00Z',
    4,
    [
      '2026-10-25 01:00:00+01:00',
      '2026-10-25 01:30:00+00:00',
      '2026-10-25 03:00:00+00:00',
      '2026-10-25 04:30:00+00:00',
    ],
  ],
  [
    'interval daily at a skipped 02:30 stays at 03:30',
    { interval: 86400, anchor_date: '2026-03-06T07:30:00Z', timezone: 'America/New_York' },
    '2026-03-06T00:00:00Z',
    4,
    [
      '2026-03-06 02:30:00-05:00',
      '2026-03-07 02:30:00-05:00',
      '2026-03-08 03:30:00-04:00',
      '2026-03-09 03:30:00-04:00',
    ],
  ],
  [
    'interval daily at a repeated 01:30 takes the later 01:30',
    { interval: 86400, anchor_date: '2026-10-30T05:30:00Z', timezone: 'America/New_York' },
    '2026-10-30T00:00:00Z',
    4,
    [
      '2026-10-30 01:30:00-04:00',
      '2026-10-31 01:30:00-04:00',
      '2026-11-01 01:30:00-05:00',
      '2026-11-02 01:30:00-05:00',
    ],
  ],
  [
    'interval daily across a leap day',
    { interval: 86400, anchor_date: '2024-02-27T12:00:00Z', timezone: 'UTC' },
    '2024-02-28T00:00:00Z',
    3,
    ['2024-02-28 12:00:00+00:00', '2024-02-29 12:00:00+00:00', '2024-03-01 12:00:00+00:00'],
  ],
  [
    'interval 365 days from a leap day',
    { interval: 31536000, anchor_date: '2024-02-29T12:00:00Z', timezone: 'UTC' },
    '2024-02-29T00:00:00Z',
    3,
    ['2024-02-29 12:00:00+00:00', '2025-02-28 12:00:00+00:00', '2026-02-28 12:00:00+00:00'],
  ],
  [
    'interval with a fractional anchor prints microseconds',
    { interval: 3600, anchor_date: '2026-06-01T00:00:00.250Z', timezone: 'UTC' },
    '2026-06-01T10:30:00Z',
    2,
    ['2026-06-01 11:00:00.250000+00:00', '2026-06-01 12:00:00.250000+00:00'],
  ],
  [
    "cron '0 2 * * *' America/New_York spring-forward",
    { cron: '0 2 * * *', timezone: 'America/New_York' },
    '2026-03-07T00:00:00Z',
    3,
    ['2026-03-07 02:00:00-05:00', '2026-03-08 03:00:00-04:00', '2026-03-09 02:00:00-04:00'],
  ],
  [
    "cron '0 2 * * *' America/New_York fall-back",
    { cron: '0 2 * * *', timezone: 'America/New_York' },
    '2026-10-31T00:00:00Z',
    3,
    ['2026-10-31 02:00:00-04:00', '2026-11-01 02:00:00-05:00', '2026-11-02 02:00:00-05:00'],
  ],
  [
    "cron '30 1 * * *' America/New_York spring-forward",
    { cron: '30 1 * * *', timezone: 'America/New_York' },
    '2026-03-07T00:00:00Z',
    3,
    ['2026-03-07 01:30:00-05:00', '2026-03-08 01:30:00-05:00', '2026-03-09 01:30:00-04:00'],
  ],
  [
    "cron '30 1 * * *' America/New_York fall-back",
    { cron: '30 1 * * *', timezone: 'America/New_York' },
    '2026-10-31T00:00:00Z',
    3,
    ['2026-10-31 01:30:00-04:00', '2026-11-01 01:30:00-04:00', '2026-11-02 01:30:00-05:00'],
  ],
  [
    "cron '0 9 * * *' America/New_York spring-forward",
    { cron: '0 9 * * *', timezone: 'America/New_York' },
    '2026-03-07T00:00:00Z',
    3,
    ['2026-03-07 09:00:00-05:00', '2026-03-08 09:00:00-04:00', '2026-03-09 09:00:00-04:00'],
  ],
  [
    "cron '0 9 * * *' America/New_York fall-back",
    { cron: '0 9 * * *', timezone: 'America/New_York' },
    '2026-10-31T00:00:00Z',
    3,
    ['2026-10-31 09:00:00-04:00', '2026-11-01 09:00:00-05:00', '2026-11-02 09:00:00-05:00'],
  ],
  [
    "cron '0 2 * * *' Europe/London spring-forward",
    { cron: '0 2 * * *', timezone: 'Europe/London' },
    '2026-03-28T00:00:00Z',
    3,
    ['2026-03-28 02:00:00+00:00', '2026-03-29 02:00:00+01:00', '2026-03-30 02:00:00+01:00'],
  ],
  [
    "cron '0 2 * * *' Europe/London fall-back",
    { cron: '0 2 * * *', timezone: 'Europe/London' },
    '2026-10-24T00:00:00Z',
    3,
    ['2026-10-24 02:00:00+01:00', '2026-10-25 02:00:00+00:00', '2026-10-26 02:00:00+00:00'],
  ],
  [
    "cron '30 1 * * *' Europe/London spring-forward",
    { cron: '30 1 * * *', timezone: 'Europe/London' },
    '2026-03-28T00:00:00Z',
    3,
    ['2026-03-28 01:30:00+00:00', '2026-03-29 02:30:00+01:00', '2026-03-30 01:30:00+01:00'],
  ],
  [
    "cron '30 1 * * *' Europe/London fall-back",
    { cron: '30 1 * * *', timezone: 'Europe/London' },
    '2026-10-24T00:00:00Z',
    3,
    ['2026-10-24 01:30:00+01:00', '2026-10-25 01:30:00+01:00', '2026-10-26 01:30:00+00:00'],
  ],
  [
    "cron '0 9 * * *' Europe/London spring-forward",
    { cron: '0 9 * * *', timezone: 'Europe/London' },
    '2026-03-28T00:00:00Z',
    3,
    ['2026-03-28 09:00:00+00:00', '2026-03-29 09:00:00+01:00', '2026-03-30 09:00:00+01:00'],
  ],
  [
    "cron '0 9 * * *' Europe/London fall-back",
    { cron: '0 9 * * *', timezone: 'Europe/London' },
    '2026-10-24T00:00:00Z',
    3,
    ['2026-10-24 09:00:00+01:00', '2026-10-25 09:00:00+00:00', '2026-10-26 09:00:00+00:00'],
  ],
  [
    'cron hourly America/New_York spring-forward',
    { cron: '0 * * * *', timezone: 'America/New_York' },
    '2026-03-08T05:00:00Z',
    4,
    [
      '2026-03-08 00:00:00-05:00',
      '2026-03-08 01:00:00-05:00',
      '2026-03-08 03:00:00-04:00',
      '2026-03-08 04:00:00-04:00',
    ],
  ],
  [
    'cron hourly America/New_York fall-back',
    { cron: '0 * * * *', timezone: 'America/New_York' },
    '2026-11-01T04:00:00Z',
    4,
    [
      '2026-11-01 00:00:00-04:00',
      '2026-11-01 01:00:00-04:00',
      '2026-11-01 02:00:00-05:00',
      '2026-11-01 03:00:00-05:00',
    ],
  ],
  [
    'cron hourly Europe/London spring-forward',
    { cron: '0 * * * *', timezone: 'Europe/London' },
    '2026-03-29T00:00:00Z',
    4,
    [
      '2026-03-29 00:00:00+00:00',
      '2026-03-29 02:00:00+01:00',
      '2026-03-29 03:00:00+01:00',
      '2026-03-29 04:00:00+01:00',
    ],
  ],
  [
    'cron hourly Europe/London fall-back',
    { cron: '0 * * * *', timezone: 'Europe/London' },
    '2026-10-25T00:00:00Z',
    4,
    [
      '2026-10-25 01:00:00+01:00',
      '2026-10-25 02:00:00+00:00',
      '2026-10-25 03:00:00+00:00',
      '2026-10-25 04:00:00+00:00',
    ],
  ],
  [
    'cron starting inside the repeated hour',
    { cron: '*/20 * * * *', timezone: 'America/New_York' },
    '2026-11-01T06:10:00Z',
    4,
    [
      '2026-11-01 02:00:00-05:00',
      '2026-11-01 02:20:00-05:00',
      '2026-11-01 02:40:00-05:00',
      '2026-11-01 03:00:00-05:00',
    ],
  ],
  [
    'cron starting just after the skipped hour',
    { cron: '*/20 * * * *', timezone: 'America/New_York' },
    '2026-03-08T07:10:00Z',
    4,
    [
      '2026-03-08 03:20:00-04:00',
      '2026-03-08 03:40:00-04:00',
      '2026-03-08 04:00:00-04:00',
      '2026-03-08 04:20:00-04:00',
    ],
  ],
  [
    'cron leap day',
    { cron: '0 0 29 2 *', timezone: 'UTC' },
    '2025-01-01T00:00:00Z',
    2,
    ['2028-02-29 00:00:00+00:00', '2032-02-29 00:00:00+00:00'],
  ],
  [
    'cron day_or true: the 1st or a Monday',
    { cron: '0 0 1 * mon', timezone: 'UTC', day_or: true },
    '2026-06-01T00:00:00Z',
    4,
    [
      '2026-06-01 00:00:00+00:00',
      '2026-06-08 00:00:00+00:00',
      '2026-06-15 00:00:00+00:00',
      '2026-06-22 00:00:00+00:00',
    ],
  ],
  [
    'cron day_or false: a Monday that is the 1st',
    { cron: '0 0 1 * mon', timezone: 'UTC', day_or: false },
    '2026-01-01T00:00:00Z',
    2,
    ['2026-06-01 00:00:00+00:00', '2027-02-01 00:00:00+00:00'],
  ],
  [
    'cron start with milliseconds skips the match in that second',
    { cron: '0 12 * * *', timezone: 'UTC' },
    '2026-06-01T12:00:00.500Z',
    1,
    ['2026-06-02 12:00:00+00:00'],
  ],
  [
    'cron start exactly on a match includes it',
    { cron: '0 12 * * *', timezone: 'UTC' },
    '2026-06-01T12:00:00Z',
    1,
    ['2026-06-01 12:00:00+00:00'],
  ],
  [
    'cron six fields: seconds last, as croniter',
    { cron: '0 12 * * * 30', timezone: 'UTC' },
    '2026-06-01T00:00:00Z',
    2,
    ['2026-06-01 12:00:30+00:00', '2026-06-02 12:00:30+00:00'],
  ],
  [
    'cron last Friday (L5) and second Friday (5#2)',
    { cron: '0 12 * * L5', timezone: 'UTC' },
    '2026-06-01T00:00:00Z',
    2,
    ['2026-06-26 12:00:00+00:00', '2026-07-31 12:00:00+00:00'],
  ],
  [
    'rrule daily 09:00 New York spring-forward',
    { rrule: 'DTSTART:20260101T090000\nRRULE:FREQ=DAILY', timezone: 'America/New_York' },
    '2026-03-07T00:00:00Z',
    3,
    ['2026-03-07 09:00:00-05:00', '2026-03-08 09:00:00-04:00', '2026-03-09 09:00:00-04:00'],
  ],
  [
    'rrule hourly New York fall-back',
    { rrule: 'DTSTART:20261031T000000\nRRULE:FREQ=HOURLY', timezone: 'America/New_York' },
    '2026-11-01T04:00:00Z',
    4,
    [
      '2026-11-01 00:00:00-04:00',
      '2026-11-01 01:00:00-04:00',
      '2026-11-01 02:00:00-05:00',
      '2026-11-01 03:00:00-05:00',
    ],
  ],
  [
    'rrule daily 02:30 New York: the skipped time moves back',
    { rrule: 'DTSTART:20260301T023000\nRRULE:FREQ=DAILY', timezone: 'America/New_York' },
    '2026-03-07T00:00:00Z',
    3,
    ['2026-03-07 02:30:00-05:00', '2026-03-08 01:30:00-05:00', '2026-03-09 02:30:00-04:00'],
  ],
  [
    'rrule with EXDATE',
    {
      rrule: 'DTSTART:20260101T090000\nRRULE:FREQ=WEEKLY;BYDAY=MO,WE,FR\nEXDATE:20260309T090000,20260313T090000',
      timezone: 'America/New_York',
    },
    '2026-03-06T00:00:00Z',
    4,
    [
      '2026-03-06 09:00:00-05:00',
      '2026-03-11 09:00:00-04:00',
      '2026-03-16 09:00:00-04:00',
      '2026-03-18 09:00:00-04:00',
    ],
  ],
  [
    'rrule set: RDATE and EXRULE',
    {
      rrule: 'DTSTART:20260601T090000\nRRULE:FREQ=DAILY\nEXRULE:FREQ=WEEKLY;BYDAY=SA,SU\nRDATE:20260606T120000',
      timezone: 'Europe/London',
    },
    '2026-06-05T00:00:00Z',
    4,
    [
      '2026-06-05 09:00:00+01:00',
      '2026-06-06 12:00:00+01:00',
      '2026-06-08 09:00:00+01:00',
      '2026-06-09 09:00:00+01:00',
    ],
  ],
  [
    'rrule UNTIL and TZID read as wall-clock times of the schedule zone',
    {
      rrule: 'DTSTART;TZID=Europe/Paris:20260101T083000\nRRULE:FREQ=DAILY;UNTIL=20260103T083000Z',
      timezone: 'Europe/London',
    },
    '2025-12-31T00:00:00Z',
    5,
    ['2026-01-01 08:30:00+00:00', '2026-01-02 08:30:00+00:00', '2026-01-03 08:30:00+00:00'],
  ],
  [
    'rrule yearly on leap days',
    { rrule: 'DTSTART:20240229T120000\nRRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29', timezone: 'UTC' },
    '2024-03-01T00:00:00Z',
    2,
    ['2028-02-29 12:00:00+00:00', '2032-02-29 12:00:00+00:00'],
  ],
  [
    'rrule without DTSTART starts 2020-01-01',
    { rrule: 'FREQ=HOURLY;INTERVAL=7', timezone: 'UTC' },
    '2026-06-01T00:00:00Z',
    3,
    ['2026-06-01 06:00:00+00:00', '2026-06-01 13:00:00+00:00', '2026-06-01 20:00:00+00:00'],
  ],
];

describe('schedule dates (Prefect 3.9.1 values)', () => {
  it.each(PREFECT_DATES)('%s', (_name, schedule, start, n, expected) => {
    // Stored cron schedules always carry `day_or` (Prefect's default: true).
    const stored: Schedule = 'cron' in schedule ? { day_or: true, ...schedule } : schedule;
    expect(dateStrings(stored, start, n)).toEqual(expected);
  });

  it('throws, as croniter does, when a cron expression runs out of dates (Prefect then schedules nothing)', () => {
    expect(() =>
      dateStrings({ cron: '0 0 1 1 * 0 2027', timezone: 'UTC', day_or: true }, '2026-06-01T00:00:00Z', 3),
    ).toThrow(RangeError);
  });
});

describe('the scheduler waterfall (reference 7.3)', () => {
  // Interval schedules anchored 1 s after `now`: Prefect's own test table.
  it.each([
    [60, 61],
    [3600, 3],
    [300, 13],
    [60 * 86400, 2],
  ])('an interval of %i s gives %i runs', (interval, count) => {
    const now = new Date('2026-06-15T12:00:00Z');
    const schedule: Schedule = { interval, anchor_date: new Date(now.getTime() + 1000).toISOString(), timezone: 'UTC' };
    expect(datesToSchedule(schedule, now, PREFECT_DEFAULTS)).toHaveLength(count);
  });

  it('never goes past max_runs or the end, and otherwise reaches min_runs and min_scheduled_time', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 400_000 }),
        fc.date({ min: new Date('2000-01-01'), max: new Date('2090-01-01'), noInvalidDate: true }),
        fc.integer({ min: -86_400_000 * 30, max: 86_400_000 * 30 }),
        fc.constantFrom('UTC', 'America/New_York', 'Europe/London', 'Australia/Lord_Howe'),
        fc.record({
          minRuns: fc.integer({ min: 0, max: 10 }),
          maxRuns: fc.integer({ min: 1, max: 120 }),
          minScheduledTimeSeconds: fc.integer({ min: 0, max: 86_400 * 3 }),
          maxScheduledTimeSeconds: fc.integer({ min: 0, max: 86_400 * 40 }),
        }),
        (interval, now, anchorShift, timezone, window) => {
          const schedule: Schedule = {
            interval,
            anchor_date: new Date(now.getTime() + anchorShift).toISOString(),
            timezone,
          };
          const dates = datesToSchedule(schedule, now, window).map((date) => date.instant);
          const end = now.getTime() + window.maxScheduledTimeSeconds * 1000;
          expect(dates.length).toBeLessThanOrEqual(window.maxRuns);
          for (let i = 1; i < dates.length; i++) expect(dates[i]).toBeGreaterThan(dates[i - 1]);
          for (const date of dates) {
            expect(date).toBeGreaterThanOrEqual(now.getTime() - 3_600_000); // a repeated hour may read as "not yet start"
            expect(date).toBeLessThanOrEqual(end + 3_600_000);
          }
          // Had it stopped early, it would have met both minimums with its last date.
          if (
            dates.length < window.maxRuns &&
            dates.length > 0 &&
            dates[dates.length - 1] + interval * 1000 <= end - 3_600_000
          ) {
            expect(dates.length).toBeGreaterThanOrEqual(Math.min(window.minRuns, dates.length));
            expect(dates[dates.length - 1]).toBeGreaterThanOrEqual(
              now.getTime() + window.minScheduledTimeSeconds * 1000,
            );
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('generated dates', () => {
  const cron = fc.constantFrom(
    '0 2 * * *',
    '30 1 * * *',
    '*/7 * * * *',
    '0 */3 * * *',
    '15 10 * * mon-fri',
    '0 0 1,15 * *',
    '0 12 * * 5#2',
  );
  const zone = fc.constantFrom('UTC', 'America/New_York', 'Europe/London', 'Asia/Kolkata', 'Australia/Lord_Howe');
  const start = fc.date({ min: new Date('2001-01-01'), max: new Date('2080-01-01'), noInvalidDate: true });
  const rruleDtstart = (from: Date, daysBefore: number): string => {
    const stamp = new Date(from.getTime() - daysBefore * 86_400_000).toISOString();
    return stamp.slice(0, 19).replace(/[-:]/g, '');
  };
  const cases = fc
    .tuple(
      start,
      fc.oneof(
        fc.record({ cron, timezone: zone, day_or: fc.boolean() }),
        fc.record({
          interval: fc.integer({ min: 60, max: 86_400 * 9 }),
          anchor_date: fc
            .date({ min: new Date('2000-01-01'), max: new Date('2080-01-01'), noInvalidDate: true })
            .map((date) => date.toISOString()),
          timezone: zone,
        }),
        fc.record({
          rrule: fc.constantFrom(
            'FREQ=HOURLY;INTERVAL=5',
            'FREQ=DAILY;BYHOUR=2,9;BYMINUTE=30',
            'FREQ=WEEKLY;BYDAY=MO,FR',
            'FREQ=MINUTELY;INTERVAL=45',
          ),
          timezone: zone,
          daysBefore: fc.integer({ min: 0, max: 30 }),
        }),
      ),
    )
    .map(([from, schedule]): [Date, Schedule] => {
      if (!('daysBefore' in schedule)) return [from, schedule];
      // A DTSTART shortly before start, as Prefect anchors frequent rules: rules are walked from their DTSTART.
      return [
        from,
        {
          rrule: `DTSTART:${rruleDtstart(from, schedule.daysBefore)}\nRRULE:${schedule.rrule}`,
          timezone: schedule.timezone,
        },
      ];
    });

  it('strictly increase, never repeat, start at start and stay within n and end', () => {
    fc.assert(
      fc.property(
        cases,
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 86_400 * 20 }),
        ([from, schedule], n, span) => {
          const end = new Date(from.getTime() + span * 1000);
          const dates = [...scheduleDates(schedule, { n, start: from, end })];
          expect(dates.length).toBeLessThanOrEqual(n);
          const keys = dates.map((date) => pythonDateTimeString(date.instant, date.offset));
          expect(new Set(keys).size).toBe(keys.length);
          for (let i = 1; i < dates.length; i++) expect(dates[i].instant).toBeGreaterThan(dates[i - 1].instant);
          const slack = 'interval' in schedule ? 3_600_000 : 0; // pendulum compares within a repeated hour by wall clock
          for (const date of dates) {
            expect(date.instant).toBeGreaterThanOrEqual(from.getTime() - slack);
            expect(date.instant).toBeLessThanOrEqual(end.getTime() + slack);
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});

describe('scheduled runs', () => {
  const deployment = {
    id: '0190a1b2-0000-7000-8000-000000000001',
    flow_id: '0190a1b2-0000-7000-8000-0000000000f1',
    version: 'v3',
    work_queue_name: 'default',
    work_queue_id: '0190a1b2-0000-7000-8000-0000000000a1',
    infrastructure_document_id: null,
    parameters: { x: 1, y: 'deployment' },
    tags: ['team-a'],
    labels: { owner: 'ops', 'prefect.flow.id': 'stale' },
  };
  const schedule = {
    id: '0190a1b2-0000-7000-8000-0000000000c1',
    deployment_id: deployment.id,
    slug: null,
    parameters: { y: 'schedule', z: true },
    schedule: { cron: '0 9 * * *', timezone: 'America/New_York', day_or: true },
  };

  it('carry what Prefect gives them, keyed by deployment, schedule and the local date', () => {
    const { templates, runs } = scheduledRuns(
      [deployment],
      [schedule],
      new Date('2026-03-07T12:00:00Z'),
      PREFECT_DEFAULTS,
    );
    expect(templates).toEqual([
      {
        flow_id: deployment.flow_id,
        deployment_id: deployment.id,
        deployment_version: 'v3',
        work_queue_name: 'default',
        work_queue_id: deployment.work_queue_id,
        infrastructure_document_id: null,
        parameters: { x: 1, y: 'schedule', z: true },
        tags: ['auto-scheduled', 'team-a'],
        labels: { owner: 'ops', 'prefect.flow.id': deployment.flow_id, 'prefect.deployment.id': deployment.id },
        created_by: { id: schedule.id, display_value: 'CronSchedule', type: 'SCHEDULE' },
      },
    ]);
    expect(runs.map((run) => run.idempotency_key)).toEqual([
      `scheduled ${deployment.id} ${schedule.id} 2026-03-07 09:00:00-05:00`,
      `scheduled ${deployment.id} ${schedule.id} 2026-03-08 09:00:00-04:00`,
      `scheduled ${deployment.id} ${schedule.id} 2026-03-09 09:00:00-04:00`,
    ]);
    expect(runs[0].scheduled_time).toEqual(new Date('2026-03-07T14:00:00Z'));
    expect(runs.every((run) => /^[a-z]+-[a-z]+$/.test(run.name) && run.template === 0)).toBe(true);
  });

  it('show the slug as created_by when the schedule has one, and skip a deployment whose schedule fails', () => {
    const failing = {
      ...schedule,
      id: 'c2',
      deployment_id: 'd2',
      schedule: { cron: '0 0 1 1 * 0 2000', timezone: null, day_or: true },
    };
    const errors: string[] = [];
    const { templates, runs } = scheduledRuns(
      [deployment, { ...deployment, id: 'd2' }],
      [{ ...schedule, slug: 'nightly' }, failing],
      new Date('2026-03-07T12:00:00Z'),
      PREFECT_DEFAULTS,
      (id) => errors.push(id),
    );
    expect(templates.map((template) => template.created_by.display_value)).toEqual(['nightly']);
    expect(runs).toHaveLength(3);
    expect(errors).toEqual(['d2']);
  });
});
