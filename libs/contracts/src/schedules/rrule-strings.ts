/** Prefect's `MAX_RRULE_LENGTH`: about a year of RDATEs plus a buffer. */
export const MAX_RRULE_LENGTH = 6500;
export const RRULE_FREQUENCIES = ['YEARLY', 'MONTHLY', 'WEEKLY', 'DAILY', 'HOURLY', 'MINUTELY', 'SECONDLY'] as const;
const RRULE_WEEKDAYS = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'];
const RRULE_INTEGER_LISTS = [
  'INTERVAL',
  'COUNT',
  'BYSETPOS',
  'BYMONTH',
  'BYMONTHDAY',
  'BYYEARDAY',
  'BYEASTER',
  'BYWEEKNO',
  'BYHOUR',
  'BYMINUTE',
  'BYSECOND',
];
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
      key === 'FREQ'
        ? (RRULE_FREQUENCIES as readonly string[]).includes(value)
        : key === 'WKST'
          ? RRULE_WEEKDAYS.includes(value)
          : key === 'UNTIL'
            ? RRULE_DATE.test(value)
            : key === 'BYDAY'
              ? value.split(',').every((day) => /^(?:[+-]?\d{1,2})?(?:MO|TU|WE|TH|FR|SA|SU)$/.test(day))
              : RRULE_INTEGER_LISTS.includes(key)
                ? value.split(',').every((n) => /^[+-]?\d+$/.test(n))
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
