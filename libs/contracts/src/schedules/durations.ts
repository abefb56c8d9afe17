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
      number(y) * DURATION_UNIT_SECONDS.Y +
      number(mo) * DURATION_UNIT_SECONDS.M +
      number(w) * DURATION_UNIT_SECONDS.W +
      number(d) * DURATION_UNIT_SECONDS.D +
      number(h) * 3600 +
      number(mi) * 60 +
      number(s);
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
