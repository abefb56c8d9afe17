import {
  CronScheduleDto,
  DeploymentScheduleCreateDto,
  DeploymentScheduleUpdateDto,
  IntervalScheduleDto,
  ScheduleDto,
} from '@app/contracts';
import type { Schedule } from '@app/domain';
import type { DeploymentScheduleValues } from '@app/persistence';
import { anchorRRule } from './rrule-anchor';

/**
 * A schedule as Prefect stores it, defaults applied: an interval's anchor defaults to now and its time zone to
 * UTC (the anchor only carries an offset); a cron schedule keeps a missing time zone as null; an rrule's
 * time zone defaults to UTC and its rule gets an explicit DTSTART.
 */
export function storedSchedule(schedule: ScheduleDto, now: Date): Schedule {
  if (schedule instanceof IntervalScheduleDto) {
    return {
      interval: schedule.interval,
      anchor_date: (schedule.anchor_date ?? now).toISOString(),
      timezone: schedule.timezone ?? 'UTC',
    };
  }
  if (schedule instanceof CronScheduleDto) {
    return { cron: schedule.cron, timezone: schedule.timezone ?? null, day_or: schedule.day_or ?? true };
  }
  const timezone = schedule.timezone === undefined ? 'UTC' : schedule.timezone;
  return { rrule: anchorRRule(schedule.rrule, timezone, now), timezone };
}

/** A schedule to create: a create body, or an update body that carries a schedule configuration. */
export type NewSchedule = Omit<DeploymentScheduleCreateDto | DeploymentScheduleUpdateDto, 'schedule'> & {
  schedule: ScheduleDto;
};

/** A new schedule row (`DeploymentScheduleCreate` with its defaults). */
export function newScheduleValues(schedule: NewSchedule, now: Date): DeploymentScheduleValues {
  return {
    schedule: storedSchedule(schedule.schedule, now),
    active: schedule.active ?? true,
    max_scheduled_runs: schedule.max_scheduled_runs ?? null,
    parameters: schedule.parameters ?? {},
    slug: schedule.slug ?? null,
  };
}

/**
 * The columns a schedule update writes: Prefect dumps `DeploymentScheduleUpdate` without its None values, so
 * null leaves a column alone, while `parameters` (defaulting to `{}`) is always written.
 */
export function scheduleChanges(update: DeploymentScheduleUpdateDto, now: Date): Partial<DeploymentScheduleValues> {
  return {
    ...(update.active !== null && update.active !== undefined && { active: update.active }),
    ...(update.schedule && { schedule: storedSchedule(update.schedule, now) }),
    ...(update.max_scheduled_runs !== null &&
      update.max_scheduled_runs !== undefined && { max_scheduled_runs: update.max_scheduled_runs }),
    parameters: update.parameters ?? {},
    ...(update.slug !== null && update.slug !== undefined && { slug: update.slug }),
  };
}
