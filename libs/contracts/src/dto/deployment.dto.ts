import { Transform, Type, TypeHelpOptions } from 'class-transformer';
import { IsArray, IsBoolean, IsDefined, IsIn, IsInt, IsOptional, IsString, Max, Min, ValidateNested, ValidationArguments } from 'class-validator';
import { ForbidExtra } from '../body-validation';
import {
  compose,
  enumMessage,
  IsDateTime,
  IsJsonObject,
  IsLabels,
  IsNestedModel,
  IsPositiveInteger,
  IsPrefectName,
  IsSizedParameters,
  rule,
  WhenSent,
} from './validators';

/*
 * Prefect's deployment and schedule action models (`schemas/actions.py`, `schemas/schedules.py`). A property
 * left `undefined` was not sent: Prefect applies creates and updates with `exclude_unset=True`, so the
 * services need to tell "absent" from "sent as null". Non-nullable fields therefore use `WhenSent()` (validate
 * any sent value, null included) instead of `IsOptional()` (which would let null through).
 */

// ------------------------------------------------------------------------------------------ time zones

/**
 * Whether `name` is an IANA zone Python's `zoneinfo.available_timezones()` knows. ICU accepts the same names
 * (aliases such as `US/Eastern` included) but matches them case-insensitively and also takes UTC offsets,
 * which Python does not.
 */
export function isKnownTimeZone(name: string): boolean {
  if (name === '' || /^[+-]/.test(name)) return false;
  try {
    const resolved = new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
    return resolved === name || resolved.toLowerCase() !== name.toLowerCase();
  } catch {
    return false;
  }
}

const timezoneMessage = ({ value }: ValidationArguments): string =>
  `Value error, Invalid timezone: "${String(value)}" (specify in IANA tzdata format, for example, America/New_York)`;

/** Interval and cron schedules: an empty string passes, as in Prefect's `default_timezone`. */
const IsScheduleTimezone = (): PropertyDecorator =>
  compose(IsOptional(), IsString(), rule('isTimezone', (value) => value === '' || isKnownTimeZone(value as string), { message: timezoneMessage }));

// ------------------------------------------------------------------------------------------ intervals

const DURATION_UNIT_SECONDS = { Y: 365 * 86400, M: 30 * 86400, W: 7 * 86400, D: 86400 } as const;
const ISO_DURATION =
  /^([+-])?P(?:(\d+(?:[.,]\d+)?)Y)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)W)?(?:(\d+(?:[.,]\d+)?)D)?(?:T(?:(\d+(?:[.,]\d+)?)H)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)S)?)?$/i;
const CLOCK_DURATION = /^([+-])?(\d+):(\d{2})(?::(\d{2}(?:\.\d+)?))?$/;
const NUMERIC = /^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

/**
 * A pydantic `timedelta` in seconds: a number, a numeric string (Prefect's `SecondsTimeDelta`), an ISO-8601
 * duration (`P1DT2H`, years as 365 days and months as 30) or a clock duration (`01:30:00`); null otherwise.
 */
export function parseIntervalSeconds(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value !== 'string') return null;
  if (NUMERIC.test(value)) return Number(value);
  const number = (text: string | undefined): number => (text ? Number(text.replace(',', '.')) : 0);
  const iso = ISO_DURATION.exec(value.trim());
  if (iso && /\d/.test(value)) {
    const [, sign, y, mo, w, d, h, mi, s] = iso;
    const seconds =
      number(y) * DURATION_UNIT_SECONDS.Y + number(mo) * DURATION_UNIT_SECONDS.M + number(w) * DURATION_UNIT_SECONDS.W +
      number(d) * DURATION_UNIT_SECONDS.D + number(h) * 3600 + number(mi) * 60 + number(s);
    return sign === '-' ? -seconds : seconds;
  }
  const clock = CLOCK_DURATION.exec(value.trim());
  if (clock) {
    const [, sign, h, mi, s] = clock;
    const seconds = Number(h) * 3600 + Number(mi) * 60 + number(s);
    return sign === '-' ? -seconds : seconds;
  }
  return null;
}

const IsPositiveInterval = (): PropertyDecorator =>
  compose(
    Transform(({ value }: { value: unknown }) => parseIntervalSeconds(value) ?? value),
    rule('isPositiveInterval', (value) => typeof value === 'number' && value > 0, {
      message: ({ value }) => (typeof value === 'number' ? 'Value error, interval must be positive' : 'Input should be a valid timedelta'),
    }),
  );

// ------------------------------------------------------------------------------------------ cron strings

const CRON_ALIASES: Record<string, string> = {
  '@midnight': '0 0 * * *', '@hourly': '0 * * * *', '@daily': '0 0 * * *', '@weekly': '0 0 * * 0',
  '@monthly': '0 0 1 * *', '@yearly': '0 0 1 1 *', '@annually': '0 0 1 1 *',
};
// minute, hour, day of month, month, day of week, second, year: croniter's field order.
const CRON_RANGES = [[0, 59], [0, 23], [1, 31], [1, 12], [0, 6], [0, 59], [1970, 2099]] as const;
const [DAY_FIELD, MONTH_FIELD, DOW_FIELD] = [2, 3, 4];
const MONTH_NAMES = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const DAY_NAME = `(?:${DAY_NAMES.join('|')})`;
const MONTH_NAME = `(?:${MONTH_NAMES.join('|')})`;
// croniter's `special_dow_re`: `<weekday or range>#<n>` (nth weekday of the month) or `l<weekday>` (the last one).
const NTH_WEEKDAY = new RegExp(`^(?:(${DAY_NAME}(?:-${DAY_NAME})?|${MONTH_NAME}(?:-${MONTH_NAME})?|\\w+)#|(l))(\\d+)$`);
const HASHED = /^[hr](?:\((\d+)-(\d+)\))?(?:\/(\d+))?$/;

class InvalidCron extends Error {}

/** croniter's alphabetic aliases per field: `l` (last) in the day field, month and weekday names. */
function alphaValue(field: number, token: string): number | 'l' {
  if (field === DAY_FIELD && token === 'l') return 'l';
  if (field === MONTH_FIELD && MONTH_NAMES.includes(token)) return MONTH_NAMES.indexOf(token) + 1;
  if (field === DOW_FIELD && DAY_NAMES.includes(token)) return DAY_NAMES.indexOf(token);
  throw new InvalidCron();
}

/** croniter's `value_alias`: 7 means Sunday in 5-field expressions; 0 becomes 1 for the day in 6-field ones. */
function aliasValue(value: number, field: number, fields: number): number {
  if (fields === 5 && field === DOW_FIELD && value === 7) return 0;
  if (fields === 6 && field === DAY_FIELD && value === 0) return 1;
  return value;
}

/** Expands one comma-separated part; returns the literal day-of-week values it names, for the nth-day check. */
function checkCronPart(part: string, field: number, fields: number, nthDays: Set<number>, plainDays: Set<number>): void {
  const [min, max] = CRON_RANGES[field];
  let expression = part;
  let nth = false;
  if (field === DOW_FIELD) {
    const special = NTH_WEEKDAY.exec(expression);
    if (special) {
      const [, weekday, last, count] = special;
      if (weekday !== undefined) {
        if (Number(count) < 1 || Number(count) > 5) throw new InvalidCron();
        expression = weekday;
        nth = true;
      } else if (last) {
        expression = count;
      }
    }
  }
  let normalized = expression.replace(/^\*(\/.+)$/, `${min}-${max}$1`);
  let range = /^([^-]+)-([^-/]+)(?:\/(\d+))?$/.exec(normalized);
  if (!range) {
    normalized = expression.replace(/^(.+)\/(.+)$/, `$1-${max}/$2`);
    range = /^([^-]+)-([^-/]+)(?:\/(\d+))?$/.exec(normalized);
  }
  const days = nth ? nthDays : plainDays;
  if (range) {
    const bound = (token: string): number => {
      const value = /^\d+$/.test(token) ? Number(token) : alphaValue(field, token);
      if (value === 'l') throw new InvalidCron();
      return aliasValue(value, field, fields);
    };
    const low = bound(range[1]);
    const high = bound(field === DAY_FIELD && range[2] === 'l' ? '31' : range[2]);
    const step = Number(range[3] ?? 1);
    if (step === 0 || Math.max(low, high) > max) throw new InvalidCron();
    if (field === DOW_FIELD) for (let day = low; day <= (low > high ? max : high); day += step) days.add(day);
    return;
  }
  if (normalized.startsWith('-')) throw new InvalidCron();
  if (normalized === '*') return;
  const value = /^\d+$/.test(normalized) ? aliasValue(Number(normalized), field, fields) : alphaValue(field, normalized);
  if (value !== 'l' && (value < min || value > max)) throw new InvalidCron();
  if (field === DOW_FIELD && typeof value === 'number') days.add(value);
}

/** croniter's `is_valid` (5, 6 or 7 fields; names, ranges, steps, `?`, `L`, `#`), without hashed expressions. */
export function isValidCron(expression: string): boolean {
  const lowered = expression.toLowerCase();
  const fields = (CRON_ALIASES[lowered] ?? lowered).split(/\s+/).filter((token) => token !== '');
  if (![5, 6, 7].includes(fields.length)) return false;
  const nthDays = new Set<number>();
  const plainDays = new Set<number>();
  try {
    fields.forEach((token, field) => {
      // A hashed `H` needs an id croniter is never given, so croniter refuses it; a random `R` is valid to it
      // (Prefect refuses the bare `R` afterwards, see cronError).
      if (HASHED.test(token)) {
        if (token.startsWith('h')) throw new InvalidCron();
        return;
      }
      if (token.includes('?')) {
        if (token !== '?' || (field !== DAY_FIELD && field !== DOW_FIELD)) throw new InvalidCron();
        return;
      }
      for (const part of token.split(',')) checkCronPart(part, field, fields.length, nthDays, plainDays);
    });
  } catch (error) {
    if (error instanceof InvalidCron) return false;
    throw error;
  }
  // croniter refuses to mix "nth weekday" entries with plain weekdays, unless the plain ones cover the week.
  const mixed = [...plainDays].filter((day) => !nthDays.has(day));
  return !(nthDays.size > 0 && mixed.length > 0 && new Set([...plainDays, ...nthDays]).size !== 7);
}

/**
 * Prefect's `validate_cron_string` message for `cron`, or null when it is acceptable: croniter's validity first (a
 * hashed `H` is invalid to it), then a bare random `R` or hashed `H` token is refused.
 */
export function cronError(cron: string): string | null {
  if (!isValidCron(cron)) return `Invalid cron string: "${cron}"`;
  if (cron.split(/\s+/).some((token) => ['r', 'h'].includes(token.toLowerCase()))) {
    return `Random and Hashed expressions are unsupported, received: "${cron}"`;
  }
  return null;
}

// Non-strings are IsString's to report: pydantic reports only the type.
const IsCronString = (): PropertyDecorator =>
  compose(
    IsDefined(),
    IsString(),
    rule('isCron', (value) => typeof value !== 'string' || cronError(value) === null, {
      message: ({ value }) => `Value error, ${cronError(value as string)}`,
    }),
  );

// ------------------------------------------------------------------------------------------ rrule strings

/** Prefect's `MAX_RRULE_LENGTH`: about a year of RDATEs plus a buffer. */
export const MAX_RRULE_LENGTH = 6500;
export const RRULE_FREQUENCIES = ['YEARLY', 'MONTHLY', 'WEEKLY', 'DAILY', 'HOURLY', 'MINUTELY', 'SECONDLY'] as const;
const RRULE_WEEKDAYS = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'];
const RRULE_INTEGER_LISTS = ['INTERVAL', 'COUNT', 'BYSETPOS', 'BYMONTH', 'BYMONTHDAY', 'BYYEARDAY', 'BYEASTER', 'BYWEEKNO', 'BYHOUR', 'BYMINUTE', 'BYSECOND'];
const RRULE_DATE = /^(\d{8})(?:T(\d{6})(Z?))?$/;

/** One parsed RRULE line: its parameters by name, upper-cased. */
export type RRuleParts = Map<string, string>;

export interface ParsedRRule {
  dtstart: string | null;
  rules: RRuleParts[];
  /** True when dateutil would build an `rruleset` (several rules, RDATE, EXRULE or EXDATE). */
  isSet: boolean;
}

class InvalidRRule extends Error {}

function parseRRuleDate(value: string, tzid: boolean): { aware: boolean } {
  const match = RRULE_DATE.exec(value);
  if (!match) throw new InvalidRRule(`unknown string format: ${value}`);
  return { aware: tzid || match[3] === 'Z' };
}

function parseRuleParts(text: string): RRuleParts {
  const parts: RRuleParts = new Map();
  for (const pair of text.split(';')) {
    if (pair === '') continue;
    const [name, value, ...rest] = pair.split('=');
    if (value === undefined || rest.length > 0) throw new InvalidRRule(`invalid parameter: '${pair}'`);
    const key = name === 'BYWEEKDAY' ? 'BYDAY' : name;
    const valid =
      key === 'FREQ' ? (RRULE_FREQUENCIES as readonly string[]).includes(value)
        : key === 'WKST' ? RRULE_WEEKDAYS.includes(value)
          : key === 'UNTIL' ? RRULE_DATE.test(value)
            : key === 'BYDAY' ? value.split(',').every((day) => /^(?:[+-]?\d{1,2})?(?:MO|TU|WE|TH|FR|SA|SU)$/.test(day))
              : RRULE_INTEGER_LISTS.includes(key) ? value.split(',').every((n) => /^[+-]?\d+$/.test(n))
                : undefined;
    if (valid === undefined) throw new InvalidRRule(`unknown parameter '${name}'`);
    if (!valid) throw new InvalidRRule(`invalid '${name}': '${value}'`);
    parts.set(key, value);
  }
  if (!parts.has('FREQ')) throw new InvalidRRule('missing FREQ');
  const bysetpos = parts.get('BYSETPOS');
  if (bysetpos?.split(',').some((n) => Number(n) === 0 || Math.abs(Number(n)) > 366)) {
    throw new InvalidRRule('bysetpos must be between 1 and 366, or between -366 and -1');
  }
  return parts;
}

/**
 * dateutil's `rrulestr` as far as Prefect relies on it: a bare rule (`FREQ=DAILY;INTERVAL=2`) or RFC 5545
 * lines (DTSTART, RRULE, RDATE, EXRULE, EXDATE). Throws with dateutil's reason when the string is invalid.
 */
export function parseRRule(text: string): ParsedRRule {
  const upper = text.toUpperCase();
  if (upper.trim() === '') throw new InvalidRRule('empty string');
  const lines = upper.split(/\s+/).filter((line) => line !== '');
  let dtstart: { value: string; aware: boolean } | null = null;
  const rules: RRuleParts[] = [];
  let extras = 0;
  if (lines.length === 1 && (!upper.includes(':') || upper.trimStart().startsWith('RRULE:'))) {
    rules.push(parseRuleParts(lines[0].replace(/^RRULE:/, '')));
  } else {
    for (const line of lines) {
      const colon = line.indexOf(':');
      const [head, value] = colon === -1 ? ['RRULE', line] : [line.slice(0, colon), line.slice(colon + 1)];
      const [name, ...params] = head.split(';');
      const tzid = params.some((param) => param.startsWith('TZID='));
      if (name === 'RRULE' || name === 'EXRULE') {
        if (params.length > 0) throw new InvalidRRule(`unsupported ${name} parm: ${params[0]}`);
        const parts = parseRuleParts(value);
        if (name === 'RRULE') rules.push(parts);
        else extras++;
      } else if (name === 'RDATE' || name === 'EXDATE') {
        value.split(',').forEach((date) => parseRRuleDate(date, tzid));
        extras++;
      } else if (name === 'DTSTART') {
        if (value.includes(',')) throw new InvalidRRule(`Multiple DTSTART values specified:${value}`);
        dtstart = { value, ...parseRRuleDate(value, tzid) };
      } else {
        throw new InvalidRRule(`unsupported property: ${name}`);
      }
    }
  }
  // Without a DTSTART dateutil starts from a naive "now", so only a naive UNTIL fits.
  for (const parts of rules) {
    const until = parts.get('UNTIL');
    if (until && parseRRuleDate(until, false).aware !== (dtstart?.aware ?? false)) {
      throw new InvalidRRule('RRULE UNTIL values must be specified in UTC when DTSTART is timezone-aware');
    }
  }
  return { dtstart: dtstart?.value ?? null, rules, isSet: rules.length !== 1 || extras > 0 };
}

/** Prefect's `validate_rrule_string` message for `rrule`, or null when it is acceptable. */
export function rruleError(rrule: string): string | null {
  try {
    parseRRule(rrule);
  } catch (error) {
    if (error instanceof InvalidRRule) return `Invalid RRule string "${rrule}": ${error.message}`;
    throw error;
  }
  if (rrule.length > MAX_RRULE_LENGTH) {
    return `Invalid RRule string "${rrule.slice(0, 40)}..."\nMax length is ${MAX_RRULE_LENGTH}, got ${rrule.length}`;
  }
  return null;
}

// Non-strings are IsString's to report: pydantic reports only the type.
const IsRRuleString = (): PropertyDecorator =>
  compose(
    IsDefined(),
    IsString(),
    rule('isRRule', (value) => typeof value !== 'string' || rruleError(value) === null, {
      message: ({ value }) => `Value error, ${rruleError(value as string)}`,
    }),
  );

// ------------------------------------------------------------------------------------------ schedules

@ForbidExtra()
export class IntervalScheduleDto {
  @IsDefined()
  @IsPositiveInterval()
  interval!: number;

  /** Absent: now, stamped when the schedule is stored. */
  @WhenSent()
  @IsDateTime()
  anchor_date?: Date;

  @IsScheduleTimezone()
  timezone?: string | null;
}

@ForbidExtra()
export class CronScheduleDto {
  @IsCronString()
  cron!: string;

  @IsScheduleTimezone()
  timezone?: string | null;

  @WhenSent()
  @IsBoolean()
  day_or?: boolean;
}

@ForbidExtra()
export class RRuleScheduleDto {
  @IsRRuleString()
  rrule!: string;

  // Prefect's `TimeZone` type: a known zone or null; absent means UTC.
  @IsOptional()
  @IsString()
  @rule('isTimezone', (value) => isKnownTimeZone(value as string), { message: timezoneMessage })
  timezone?: string | null;
}

export type ScheduleDto = IntervalScheduleDto | CronScheduleDto | RRuleScheduleDto;

/**
 * Prefect's `SCHEDULE_TYPES` union, told apart by the key only one member has; a body with none of them is
 * read as an interval schedule, so its error names the missing `interval`.
 */
function scheduleType(options?: TypeHelpOptions): new () => ScheduleDto {
  const value = options?.object[options.property] as unknown;
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && !('interval' in value)) {
    if ('cron' in value) return CronScheduleDto;
    if ('rrule' in value) return RRuleScheduleDto;
  }
  return IntervalScheduleDto;
}

const IsSchedule = (): PropertyDecorator => IsNestedModel(scheduleType);

/** Prefect's `PREFECT_DEPLOYMENT_SCHEDULE_MAX_SCHEDULED_RUNS`. */
export const MAX_SCHEDULED_RUNS_PER_SCHEDULE = 50;

const MaxScheduledRuns = (): PropertyDecorator =>
  compose(
    IsOptional(),
    IsPositiveInteger(),
    rule('isWithinScheduledRunsLimit', (value) => typeof value === 'number' && value <= MAX_SCHEDULED_RUNS_PER_SCHEDULE, {
      message: `Value error, \`max_scheduled_runs\` must be less than or equal to ${MAX_SCHEDULED_RUNS_PER_SCHEDULE}.`,
    }),
  );

/** The fields Prefect's schedule create and update models declare alike. */
abstract class DeploymentScheduleFieldsDto {
  @MaxScheduledRuns()
  max_scheduled_runs?: number | null;

  @WhenSent()
  @IsJsonObject()
  parameters?: Record<string, unknown>;

  @IsOptional()
  @IsString()
  slug?: string | null;

  /** A deploy-time directive for renaming a slug; never stored. */
  @IsOptional()
  @IsString()
  replaces?: string | null;
}

@ForbidExtra()
export class DeploymentScheduleCreateDto extends DeploymentScheduleFieldsDto {
  @WhenSent()
  @IsBoolean()
  active?: boolean;

  @IsDefined()
  @IsSchedule()
  schedule!: ScheduleDto;
}

@ForbidExtra()
export class DeploymentScheduleUpdateDto extends DeploymentScheduleFieldsDto {
  @IsOptional()
  @IsBoolean()
  active?: boolean | null;

  @IsOptional()
  @IsSchedule()
  schedule?: ScheduleDto | null;
}

// ------------------------------------------------------------------------------------------ deployments

export const CONCURRENCY_LIMIT_STRATEGIES = ['ENQUEUE', 'CANCEL_NEW'] as const;

/** A plain pydantic model in Prefect: unknown keys are dropped, not refused. */
export class ConcurrencyOptionsDto {
  @IsDefined()
  @IsIn(CONCURRENCY_LIMIT_STRATEGIES, { message: enumMessage(CONCURRENCY_LIMIT_STRATEGIES) })
  collision_strategy!: (typeof CONCURRENCY_LIMIT_STRATEGIES)[number];

  @IsOptional()
  @IsInt()
  @Min(60)
  @Max(86400)
  grace_period_seconds?: number | null;
}

/** Accepted and validated like Prefect's `VersionInfo`, which Prefect does not store either. */
export class VersionInfoDto {
  @IsDefined()
  @IsString()
  type!: string;

  @IsDefined()
  @IsString()
  version!: string;
}

const UUID = /^(?:urn:uuid:)?\{?([0-9a-f]{8})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{12})\}?$/i;

/** A UUID in any form pydantic parses (any version, braces, `urn:uuid:`, no dashes), stored canonical. */
const IsPydanticUuid = (): PropertyDecorator =>
  compose(
    Transform(({ value }: { value: unknown }) => {
      const match = typeof value === 'string' ? UUID.exec(value) : null;
      return match ? match.slice(1).join('-').toLowerCase() : value;
    }),
    // Named like class-validator's own rule so that it reports pydantic's `uuid_parsing`.
    rule('isUuid', (value) => typeof value === 'string' && UUID.test(value)),
  );

const OptionalString = (): PropertyDecorator => compose(IsOptional(), IsString());
const OptionalUuid = (): PropertyDecorator => compose(IsOptional(), IsPydanticUuid());
const OptionalJsonObject = (): PropertyDecorator => compose(IsOptional(), IsJsonObject());
const SentStringList = (): PropertyDecorator => compose(WhenSent(), IsArray(), IsString({ each: true }));
const SentBoolean = (): PropertyDecorator => compose(WhenSent(), IsBoolean());
const OptionalPositiveInteger = (): PropertyDecorator => compose(IsOptional(), IsPositiveInteger());
const PullSteps = (): PropertyDecorator => compose(IsOptional(), IsArray(), IsJsonObject({ each: true }));
const OptionalNested = (model: () => new () => object): PropertyDecorator => compose(IsOptional(), IsNestedModel(model));
/** Keys older clients still send; Prefect's `remove_old_deployment_fields` drops them before validation. */
const LegacyKey = (): PropertyDecorator => IsOptional();

const bothConcurrencyLimits = (dto: { concurrency_limit?: number | null; global_concurrency_limit_id?: string | null }): boolean =>
  Boolean(dto.concurrency_limit) && Boolean(dto.global_concurrency_limit_id);

/** Prefect's model validator, reported on the whole body as pydantic does. */
const OneConcurrencyLimit = (): PropertyDecorator =>
  rule('oneConcurrencyLimit', (_value, { object }) => !bothConcurrencyLimits(object), {
    message: 'Value error, A deployment cannot have both a concurrency limit and a global concurrency limit.',
  });

/** The fields Prefect's deployment create and update models declare alike. */
abstract class DeploymentFieldsDto {
  @SentBoolean()
  paused?: boolean;

  @OptionalPositiveInteger()
  concurrency_limit?: number | null;

  @OptionalNested(() => ConcurrencyOptionsDto)
  concurrency_options?: ConcurrencyOptionsDto | null;

  @OptionalUuid()
  @OneConcurrencyLimit()
  global_concurrency_limit_id?: string | null;

  @OptionalJsonObject()
  parameter_openapi_schema?: Record<string, unknown> | null;

  @SentStringList()
  tags?: string[];

  @PullSteps()
  pull_steps?: Record<string, unknown>[] | null;

  @OptionalString()
  work_queue_name?: string | null;

  @OptionalString()
  work_pool_name?: string | null;

  @OptionalUuid()
  storage_document_id?: string | null;

  @OptionalUuid()
  infrastructure_document_id?: string | null;

  @OptionalString()
  description?: string | null;

  @OptionalString()
  path?: string | null;

  @OptionalString()
  version?: string | null;

  @OptionalString()
  entrypoint?: string | null;

  @OptionalNested(() => VersionInfoDto)
  version_info?: VersionInfoDto | null;

  @LegacyKey() worker_pool_queue_id?: unknown;
  @LegacyKey() worker_pool_name?: unknown;
  @LegacyKey() worker_pool_queue_name?: unknown;
  @LegacyKey() work_pool_queue_name?: unknown;
}

@ForbidExtra()
export class DeploymentCreateDto extends DeploymentFieldsDto {
  @IsDefined()
  @IsString()
  @IsPrefectName()
  name!: string;

  @IsDefined()
  @IsPydanticUuid()
  flow_id!: string;

  @WhenSent()
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => DeploymentScheduleCreateDto)
  schedules?: DeploymentScheduleCreateDto[];

  @SentBoolean()
  enforce_parameter_schema?: boolean;

  @WhenSent()
  @IsJsonObject()
  @IsSizedParameters()
  parameters?: Record<string, unknown>;

  @IsOptional()
  @IsLabels()
  labels?: Record<string, string | number | boolean> | null;

  @WhenSent()
  @IsJsonObject()
  job_variables?: Record<string, unknown>;
}

@ForbidExtra()
export class DeploymentUpdateDto extends DeploymentFieldsDto {
  @WhenSent()
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => DeploymentScheduleUpdateDto)
  schedules?: DeploymentScheduleUpdateDto[];

  @IsOptional()
  @IsJsonObject()
  @IsSizedParameters()
  parameters?: Record<string, unknown> | null;

  @IsOptional()
  @IsJsonObject()
  job_variables?: Record<string, unknown> | null;

  @IsOptional()
  @IsBoolean()
  enforce_parameter_schema?: boolean | null;
}
