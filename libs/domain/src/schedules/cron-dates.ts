import { CRON_ALIASES } from '@app/contracts';
import { Cron, CronOptions } from 'croner';
import { CronSchedule, DateQuery, MAX_ITERATIONS, ScheduleDate } from './schedule-types';
import { ZoneClock } from './zone-clock';

const DAY_MS = 86_400_000;

/**
 * A croniter expression in croner's terms: croniter puts seconds (6th field) and years (7th) after the weekday,
 * croner puts seconds first; croniter's last-weekday `L5` is croner's `5L`.
 */
function cronerPattern(expression: string): { pattern: string; mode: NonNullable<CronOptions['mode']> } {
  const lowered = expression.trim().toLowerCase();
  const fields = (CRON_ALIASES[lowered] ?? lowered).split(/\s+/);
  const [minute, hour, day, month, weekday, second, year] = fields;
  const croniterWeekday = weekday.replace(/\bl([0-7])\b/g, '$1L');
  const core = [minute, hour, day, month, croniterWeekday];
  if (fields.length === 5) return { pattern: core.join(' '), mode: '5-part' };
  if (fields.length === 6) return { pattern: [second, ...core].join(' '), mode: '6-part' };
  return { pattern: [second, ...core, year].join(' '), mode: '7-part' };
}

/** Wall-clock times matching the expression, strictly after `after` (naive ms), in order: croniter on naive times. */
function* wallTimes(schedule: CronSchedule, after: number): Generator<number> {
  const { pattern, mode } = cronerPattern(schedule.cron);
  const cron = new Cron(pattern, { utcOffset: 0, mode, domAndDow: !schedule.day_or, sloppyRanges: true });
  for (let previous = new Date(after); ;) {
    const next = cron.nextRun(previous);
    // croniter raises when an expression has no further match (a past year): Prefect schedules nothing then.
    if (!next) throw new RangeError(`cron expression "${schedule.cron}" has no date after ${previous.toISOString()}`);
    yield next.getTime();
    previous = next;
  }
}

/**
 * The dates of a cron schedule, as Prefect's `CronSchedule._get_dates_whenever` makes them: croniter walks the wall
 * clock of the schedule's zone from one second before `start`; each wall time becomes its first instant (a repeated
 * time fires once, at its first occurrence; a skipped one fires at the moment the clock jumps to, shifted by the gap).
 * A `start` inside a repeated hour does not fire again for times already passed, and a `start` just after a skipped
 * hour still gets the skipped times that are due.
 */
export function* cronDates(schedule: CronSchedule, query: DateQuery): Generator<ScheduleDate> {
  const clock = new ZoneClock(schedule.timezone || 'UTC');
  const startInstant = query.start.getTime();
  const end = query.end?.getTime() ?? null;
  const startWall = clock.wallClock(startInstant);
  // One second before start, so that a match at start is included; a fractional start rounds up instead.
  let after = startWall % 1000 === 0 ? startWall - 1000 : startWall;
  const transition = clock.lastTransitionBetween(startInstant + 1000 - DAY_MS, startInstant + 1000);
  const sinceTransition = transition ? startInstant - transition.at : -1;
  const gap = transition ? transition.offsetAfter - transition.offsetBefore : 0;
  if (transition && sinceTransition >= 0 && sinceTransition < -gap) {
    const foldEnd = transition.at + transition.offsetAfter - gap;
    after = foldEnd - 1000;
  }
  const localize = (wall: number): ScheduleDate => {
    const instant = clock.instant(wall, 'earlier-forward');
    return { instant, offset: clock.offset(instant) };
  };

  let candidates: Iterator<ScheduleDate> = mapIterator(wallTimes(schedule, after), localize);
  if (transition && sinceTransition >= 0 && sinceTransition < gap) {
    const gapEnd = transition.at + transition.offsetAfter;
    const skipped: ScheduleDate[] = [];
    for (const wall of wallTimes(schedule, after - gap)) {
      if (wall >= gapEnd) break;
      skipped.push(localize(wall));
    }
    candidates = mergeByInstant(skipped, candidates);
  }

  const seen = new Set<number>();
  for (let taken = 0; taken < MAX_ITERATIONS + 2; taken++) {
    const next = candidates.next();
    if (next.done) return;
    const value: ScheduleDate = next.value;
    if (end !== null && value.instant > end) return;
    if (value.instant >= startInstant && !seen.has(value.instant)) {
      seen.add(value.instant);
      yield value;
    }
    if (seen.size >= query.n) return;
  }
}

function* mapIterator<T, U>(source: Iterable<T>, map: (value: T) => U): Generator<U> {
  for (const value of source) yield map(value);
}

/** `heapq.merge` of two instant-ordered sequences. */
function mergeByInstant(first: ScheduleDate[], rest: Iterator<ScheduleDate>): Iterator<ScheduleDate> {
  return (function* () {
    let index = 0;
    for (let next = rest.next(); !next.done; next = rest.next()) {
      while (index < first.length && first[index].instant <= next.value.instant) yield first[index++];
      yield next.value;
    }
    while (index < first.length) yield first[index++];
  })();
}
