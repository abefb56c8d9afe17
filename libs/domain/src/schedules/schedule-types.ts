/** Prefect's `IntervalSchedule`, as stored: `interval` in seconds, `anchor_date` ISO-8601 text. */
export interface IntervalSchedule {
  interval: number;
  anchor_date: string;
  timezone: string | null;
}

/** Prefect's `CronSchedule`, as stored. */
export interface CronSchedule {
  cron: string;
  timezone: string | null;
  day_or: boolean;
}

/** Prefect's `RRuleSchedule`, as stored. */
export interface RRuleSchedule {
  rrule: string;
  timezone: string | null;
}

/** A deployment schedule's `schedule` JSON: which of the three kinds it is shows in its keys. */
export type Schedule = IntervalSchedule | CronSchedule | RRuleSchedule;

/** Prefect's `MAX_ITERATIONS`: how many candidate dates one query looks at, at most. */
export const MAX_ITERATIONS = 1000;

/** One date of a schedule: the instant (epoch ms) and the schedule zone's UTC offset there (ms). */
export interface ScheduleDate {
  instant: number;
  offset: number;
}

/** A query for a schedule's dates (Prefect's `_get_dates_generator(n, start, end)`): `start` is inclusive. */
export interface DateQuery {
  n: number;
  start: Date;
  end: Date | null;
}

export const isIntervalSchedule = (schedule: Schedule): schedule is IntervalSchedule => 'interval' in schedule;
export const isCronSchedule = (schedule: Schedule): schedule is CronSchedule => 'cron' in schedule;

/** The class name Prefect shows for a schedule without a slug (a scheduled run's `created_by.display_value`). */
export function scheduleClassName(schedule: Schedule): 'IntervalSchedule' | 'CronSchedule' | 'RRuleSchedule' {
  if (isIntervalSchedule(schedule)) return 'IntervalSchedule';
  return isCronSchedule(schedule) ? 'CronSchedule' : 'RRuleSchedule';
}
