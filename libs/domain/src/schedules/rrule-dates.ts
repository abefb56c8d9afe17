import { RRuleSet, rrulestr } from 'rrule';
import { DateQuery, MAX_ITERATIONS, RRuleSchedule, ScheduleDate } from './schedule-types';
import { ZoneClock } from './zone-clock';

/** dateutil's default DTSTART when a rule has none, as Prefect passes it. */
const DEFAULT_DTSTART = 'DTSTART:20200101T000000';

/**
 * The rule with every date read as a floating wall-clock time: Prefect replaces the zone of DTSTART, UNTIL, RDATE
 * and EXDATE with the schedule's, so `Z` suffixes and TZID parameters only ever say "this wall-clock time".
 */
function floatingRule(rrule: string): string {
  const floating = rrule
    .trim()
    .toUpperCase()
    .replace(/;TZID=[^:;]*/g, '')
    .replace(/(\d{8}T\d{6})Z/g, '$1');
  if (floating.includes('DTSTART')) return floating;
  const bareRule = !floating.includes(':');
  return `${DEFAULT_DTSTART}\n${bareRule ? 'RRULE:' : ''}${floating}`;
}

const DAY_MS = 86_400_000;
/** How far past `start` a rule is followed when no `end` bounds it: dateutil's own limit is the year 9999. */
const UNBOUNDED_SPAN_MS = 1000 * 366 * DAY_MS;

/**
 * A rule set's wall-clock times from `from` on, in order, each once (dateutil's `rruleset` iteration): every RRULE
 * and RDATE merged, EXRULE and EXDATE times removed. rrule.js evaluates a set eagerly, so the set is read in windows
 * of doubling length.
 */
function* wallTimes(set: RRuleSet, from: number, until: number): Generator<number> {
  const excluded = new Set(set.exdates().map((date) => date.getTime()));
  const rdates = set.rdates().map((date) => date.getTime());
  let low = from;
  for (let span = DAY_MS; low <= until; span *= 2) {
    const high = Math.min(low + span, until);
    const window = new Set<number>(rdates.filter((time) => time >= low && time < high));
    for (const rule of set.rrules()) {
      for (const date of rule.between(new Date(low), new Date(high), true)) window.add(date.getTime());
    }
    for (const rule of set.exrules()) {
      for (const date of rule.between(new Date(low), new Date(high), true)) excluded.add(date.getTime());
    }
    yield* [...window].filter((time) => time < high && !excluded.has(time)).sort((a, b) => a - b);
    low = high;
    if (high === until) return;
  }
}

/**
 * The dates of an rrule schedule, as Prefect's `RRuleSchedule._get_dates_generator` makes them: dateutil's rule
 * (rrule.js is its port) walks wall-clock times in the schedule's zone, each read as dateutil reads it (a repeated
 * time is its first instant, a skipped one moves back by the gap); dates from `start` on (inclusive), at most
 * `n`, none after `end`, a wall-clock time counted once. (dateutil's zone data stops in 2037; dates after that are
 * read with the zone's full rules here, where dateutil keeps the last offset it knows.)
 */
export function* rruleDates(schedule: RRuleSchedule, query: DateQuery): Generator<ScheduleDate> {
  const clock = new ZoneClock(schedule.timezone ?? 'UTC');
  const start = query.start.getTime();
  const end = query.end?.getTime() ?? null;
  const set = rrulestr(floatingRule(schedule.rrule), { forceset: true }) as RRuleSet;
  // A day either side of the bounds' wall clocks covers any offset change.
  const from = clock.wallClock(start) - DAY_MS;
  const until = end === null ? from + UNBOUNDED_SPAN_MS : clock.wallClock(end) + DAY_MS;
  const seen = new Set<number>();
  let counter = 0;
  for (const wallTime of wallTimes(set, from, until)) {
    const instant = clock.instant(wallTime, 'earlier-backward');
    if (instant < start) continue;
    if (end !== null && instant > end) return;
    const wall = clock.wallClock(instant);
    if (!seen.has(wall)) {
      seen.add(wall);
      yield { instant, offset: wall - instant };
    }
    if (seen.size >= query.n || counter > MAX_ITERATIONS) return;
    counter++;
  }
}
