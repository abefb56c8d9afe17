/** croniter's `@` shorthands. */
export const CRON_ALIASES: Record<string, string> = {
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
  '@daily': '0 0 * * *',
  '@weekly': '0 0 * * 0',
  '@monthly': '0 0 1 * *',
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
};
// minute, hour, day of month, month, day of week, second, year: croniter's field order.
const CRON_RANGES = [
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12],
  [0, 6],
  [0, 59],
  [1970, 2099],
] as const;
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
function checkCronPart(
  part: string,
  field: number,
  fields: number,
  nthDays: Set<number>,
  plainDays: Set<number>,
): void {
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
  const value = /^\d+$/.test(normalized)
    ? aliasValue(Number(normalized), field, fields)
    : alphaValue(field, normalized);
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
