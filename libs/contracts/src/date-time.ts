const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

const EPOCH_STRING = /^-?\d+(?:\.\d+)?$/;

/** Past this many, a number counts as milliseconds since the epoch, not seconds (pydantic's threshold). */
const EPOCH_MILLISECONDS_ABOVE = 2e10;

/** An epoch number as pydantic reads one; `null` for one no `Date` can hold. */
function fromEpoch(epoch: number): Date | null {
  if (!Number.isFinite(epoch)) return null;
  const date = new Date(Math.abs(epoch) > EPOCH_MILLISECONDS_ABOVE ? epoch : epoch * 1000);
  return Number.isNaN(date.getTime()) ? null : date;
}

/**
 * An instant that was sent with a UTC offset other than zero. Prefect (pydantic) keeps the offset, so where it
 * stores the value as JSON text (state details, schedules) or answers from the request's own object, the value
 * comes back with that offset; a `timestamptz` column reads back in UTC. `text` is pydantic's rendering of it.
 */
export class OffsetDateTime extends Date {
  constructor(
    time: number,
    readonly text: string,
  ) {
    super(time);
  }
}

/**
 * Parses a date-time the way Prefect (pydantic) accepts it: ISO-8601 with `T` or a space between date and
 * time (Python's `str(datetime)`), optional seconds and fraction, `Z` or an offset; no offset means UTC.
 * A bare date means midnight UTC. A number, or a string of one, is seconds since the epoch (milliseconds
 * past 2e10), as in pydantic's lax mode. Returns `null` for anything else. Precision below a millisecond is dropped
 * from the instant; a non-zero offset gives an {@link OffsetDateTime} that renders as sent (to the microsecond).
 */
export function parseDateTime(value: unknown): Date | null {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value;
  if (typeof value === 'number') return fromEpoch(value);
  if (typeof value !== 'string') return null;
  if (EPOCH_STRING.test(value)) return fromEpoch(Number(value));
  const match = ISO_DATE_TIME.exec(value.trim());
  if (!match) return null;
  const [, y, mo, d, h = '00', mi = '00', s = '00', fraction = '', zone = 'Z'] = match;
  const millis = fraction.padEnd(3, '0').slice(0, 3);
  let offset = 'Z';
  if (zone !== 'Z' && zone !== 'z') {
    const digits = zone.replace(':', '');
    offset = `${digits.slice(0, 3)}:${digits.slice(3, 5) || '00'}`;
  }
  const date = new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}.${millis}${offset}`);
  if (Number.isNaN(date.getTime())) return null;
  // Reject calendar overflow (2026-02-30) that Date would silently roll over.
  const local = new Date(date.getTime() + offsetMinutes(offset) * 60_000);
  if (local.getUTCDate() !== Number(d) || local.getUTCMonth() + 1 !== Number(mo)) return null;
  if (offsetMinutes(offset) === 0) return date;
  const micros = fraction.padEnd(6, '0').slice(0, 6);
  const text = `${y}-${mo}-${d}T${h}:${mi}:${s}${/^0*$/.test(micros) ? '' : `.${micros}`}${offset}`;
  return new OffsetDateTime(date.getTime(), text);
}

function offsetMinutes(offset: string): number {
  if (offset === 'Z') return 0;
  const sign = offset.startsWith('-') ? -1 : 1;
  return sign * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4, 6)));
}

/**
 * {@link parseDateTime}, keeping the microseconds a `Date` cannot hold: the instant as fixed-width ISO-8601 UTC
 * text, `YYYY-MM-DDTHH:MM:SS.ffffffZ`. Prefect's state timestamps are microsecond-precise, and the order of a
 * run's states is decided on them, so instants that only differ below a millisecond must stay apart. Two such
 * texts compare as their instants do, and Postgres reads them back to the microsecond.
 */
export function parsePreciseDateTime(value: unknown): string | null {
  const instant = parseDateTime(value);
  if (!instant || typeof value !== 'string') return instant ? formatPreciseDateTime(instant) : null;
  const fraction = ISO_DATE_TIME.exec(value.trim())?.[7] ?? '';
  return `${instant.toISOString().slice(0, 23)}${fraction.padEnd(6, '0').slice(3, 6)}Z`;
}

/** An instant in {@link parsePreciseDateTime}'s form. */
export function formatPreciseDateTime(value: Date): string {
  return `${value.toISOString().slice(0, 23)}000Z`;
}

/** Renders an instant as Prefect does: ISO-8601 in UTC with a `Z`, or with the offset it was sent with. */
export function formatDateTime(value: Date | null | undefined): string | null {
  if (!value) return null;
  return value instanceof OffsetDateTime ? value.text : value.toISOString();
}
