import { parseRRule } from '@app/contracts';

/** RRule's implicit anchor when a rule has no DTSTART (dateutil's default, kept by Prefect). */
const LEGACY_ANCHOR_MS = Date.UTC(2020, 0, 1);

const PERIOD_UNIT_SECONDS: Record<string, number> = { SECONDLY: 1, MINUTELY: 60 };

const pad = (value: number, width = 2): string => String(value).padStart(width, '0');

/** A naive wall-clock instant (milliseconds read as UTC) in RFC 5545's floating `YYYYMMDDTHHMMSS` form. */
function floating(wallClockMs: number): string {
  const date = new Date(wallClockMs);
  return (
    `${date.getUTCFullYear()}${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}` +
    `T${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())}`
  );
}

/** The wall-clock reading of `now` in `timeZone`, as milliseconds of a naive date-time. */
function wallClock(now: Date, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(now);
  const part = (type: Intl.DateTimeFormatPartTypes): number => Number(parts.find((p) => p.type === type)?.value);
  return Date.UTC(
    part('year'),
    part('month') - 1,
    part('day'),
    part('hour'),
    part('minute'),
    part('second'),
    now.getUTCMilliseconds(),
  );
}

function zoneOrUtc(timeZone: string | null): string {
  try {
    return timeZone ? new Intl.DateTimeFormat('en-US', { timeZone }).resolvedOptions().timeZone : 'UTC';
  } catch {
    return 'UTC';
  }
}

/**
 * Prefect's `normalize_rrule_string` (PrefectHQ/prefect#21362): every stored rrule gets an explicit floating
 * DTSTART. Frequent rules without COUNT (SECONDLY, MINUTELY) get the latest phase-equivalent anchor at or
 * before `now` in the schedule's time zone, so evaluating them stays cheap; every other rule gets the legacy
 * 2020-01-01 anchor, which leaves its occurrences unchanged. Rules that already have a DTSTART, and strings
 * that do not parse, are returned as they are.
 */
export function anchorRRule(rrule: string, timeZone: string | null, now: Date): string {
  if (rrule.toUpperCase().includes('DTSTART')) return rrule;
  let parsed: ReturnType<typeof parseRRule>;
  try {
    parsed = parseRRule(rrule);
  } catch {
    return rrule;
  }
  const withAnchor = (wallClockMs: number) => `DTSTART:${floating(wallClockMs)}\n${rrule}`;
  const [rule] = parsed.rules;
  const unitSeconds = PERIOD_UNIT_SECONDS[rule?.get('FREQ') ?? ''];
  const periodSeconds = unitSeconds * Number(rule?.get('INTERVAL') ?? 1);
  if (parsed.isSet || rule.has('COUNT') || !unitSeconds || !(periodSeconds > 0)) return withAnchor(LEGACY_ANCHOR_MS);
  const elapsedSeconds = (wallClock(now, zoneOrUtc(timeZone)) - LEGACY_ANCHOR_MS) / 1000;
  if (elapsedSeconds <= 0) return withAnchor(LEGACY_ANCHOR_MS);
  const periods = Math.floor(elapsedSeconds / periodSeconds);
  return withAnchor(LEGACY_ANCHOR_MS + periods * periodSeconds * 1000);
}
