import { cronDates } from './cron-dates';
import { intervalDates } from './interval-dates';
import { rruleDates } from './rrule-dates';
import { DateQuery, isCronSchedule, isIntervalSchedule, Schedule, ScheduleDate } from './schedule-types';

/** A schedule's dates for `query`, in order (Prefect's `schedule._get_dates_generator`). */
export function scheduleDates(schedule: Schedule, query: DateQuery): Iterable<ScheduleDate> {
  if (isIntervalSchedule(schedule)) return intervalDates(schedule, query);
  if (isCronSchedule(schedule)) return cronDates(schedule, query);
  return rruleDates(schedule, query);
}

/**
 * How far ahead the scheduler fills each schedule (Prefect's `server.services.scheduler` settings): never more than
 * `maxRuns` dates, none after `start + maxScheduledTimeSeconds`, and, within that, at least `minRuns` dates reaching
 * at least `start + minScheduledTimeSeconds`.
 */
export interface SchedulingWindow {
  minRuns: number;
  maxRuns: number;
  minScheduledTimeSeconds: number;
  maxScheduledTimeSeconds: number;
}

/** The dates the scheduler creates runs for (the waterfall of Prefect's `_generate_scheduled_flow_runs`). */
export function datesToSchedule(schedule: Schedule, start: Date, window: SchedulingWindow): ScheduleDate[] {
  const end = new Date(start.getTime() + window.maxScheduledTimeSeconds * 1000);
  const enough = start.getTime() + window.minScheduledTimeSeconds * 1000;
  const dates: ScheduleDate[] = [];
  for (const date of scheduleDates(schedule, { n: window.maxRuns, start, end })) {
    dates.push(date);
    if (dates.length >= window.minRuns && date.instant >= enough) break;
  }
  return dates;
}
