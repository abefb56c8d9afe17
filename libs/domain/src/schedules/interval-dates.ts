import { DateQuery, IntervalSchedule, MAX_ITERATIONS, ScheduleDate } from './schedule-types';
import { ZoneClock } from './zone-clock';

const DAY_MS = 86_400_000;

/**
 * The dates of an interval schedule, as Prefect's `IntervalSchedule._get_dates_generator` makes them on the Python
 * versions its server images run (the pendulum path): `anchor + k·interval` in the schedule's zone, `start`
 * inclusive. An interval with whole days in it adds them on the wall clock (a repeated time takes its later instant,
 * a skipped one moves forward, and stays moved); a sub-day interval is exact elapsed time. Two dates on the same wall
 * clock time (the hour repeated at fall-back) count once, as pendulum compares them.
 *
 * Python compares two datetimes of the same zone object by their wall clocks, so the dates are checked against
 * `start` and `end` on the wall clock too: within a repeated hour a date that is later in time can still count as
 * "before start".
 */
export function* intervalDates(schedule: IntervalSchedule, query: DateQuery): Generator<ScheduleDate> {
  const clock = new ZoneClock(schedule.timezone ?? 'UTC');
  const totalSeconds = schedule.interval;
  const days = Math.floor(totalSeconds / 86_400);
  const seconds = totalSeconds - days * 86_400;
  const anchor = Date.parse(schedule.anchor_date);
  const start = query.start.getTime();
  const startWall = clock.wallClock(start);
  const endWall = query.end ? clock.wallClock(query.end.getTime()) : null;

  // pendulum's `add(days=, seconds=)`: with days, everything is added to the wall clock; without, to the instant.
  const add = (instant: number, addDays: number, addSeconds: number): number =>
    addDays !== 0
      ? clock.instant(clock.wallClock(instant) + addDays * DAY_MS + addSeconds * 1000, 'later-forward')
      : instant + addSeconds * 1000;
  const jump = (intervals: number): number =>
    days === 0 || seconds === 0
      ? add(anchor, days * intervals, seconds * intervals)
      : add(anchor, 0, totalSeconds * intervals);

  let offset = 0;
  let next: number;
  if (startWall >= clock.wallClock(anchor) && days !== 0 && seconds === 0 && (schedule.timezone ?? 'UTC') !== 'UTC') {
    next = seekWholeDays(clock, anchor, start, days, add);
  } else {
    offset = Math.trunc((start - anchor) / 1000 / totalSeconds);
    next = jump(offset);
    while (clock.wallClock(next) > startWall) next = jump(--offset);
  }
  const beforeAnchorDays = startWall < clock.wallClock(anchor) && days !== 0 && seconds === 0;
  const following = (instant: number): number => {
    if (beforeAnchorDays && offset < 0) return jump(++offset);
    return add(instant, days, seconds);
  };
  while (clock.wallClock(next) < startWall) next = following(next);

  const seen = new Set<number>();
  for (let counter = 0; ; counter++) {
    const wall = clock.wallClock(next);
    if (endWall !== null && wall > endWall) return;
    if (!seen.has(wall)) {
      seen.add(wall);
      yield { instant: next, offset: wall - next };
    }
    if (seen.size >= query.n || counter > MAX_ITERATIONS) return;
    next = following(next);
  }
}

/**
 * Prefect's `_seek_calendar_interval` for whole-day intervals: the first occurrence at or after `start`, as if
 * stepped one interval at a time from the anchor (a skipped local time moves every later occurrence), but jumping
 * across the stretches between zone transitions where stepping changes nothing.
 */
function seekWholeDays(
  clock: ZoneClock,
  anchor: number,
  start: number,
  days: number,
  add: (instant: number, days: number, seconds: number) => number,
): number {
  const localDay = (instant: number): number => Math.floor(clock.wallClock(instant) / DAY_MS);
  let current = anchor;
  while (current < start) {
    const transition = clock.firstTransitionBetween(current, start);
    const boundary = transition && transition.at < start ? transition.at : start;
    const count = Math.max(1, Math.floor((localDay(boundary) - localDay(current)) / days) - 1);
    current = add(current, days * count, 0);
  }
  return current;
}
