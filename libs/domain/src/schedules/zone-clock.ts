import { IANAZone } from 'luxon';

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/**
 * How a wall-clock time the zone skips or repeats becomes an instant. Prefect's three date engines differ here:
 * pendulum (interval schedules) takes the later instant of a repeated time and moves a skipped time forward;
 * whenever (cron) takes the earlier repeated instant and moves a skipped time forward; dateutil (rrules) takes the
 * earlier repeated instant and moves a skipped time back.
 */
export type Disambiguation = 'later-forward' | 'earlier-forward' | 'earlier-backward';

/** A zone transition: its instant and the UTC offsets (ms) before and after it. */
export interface Transition {
  at: number;
  offsetBefore: number;
  offsetAfter: number;
}

/**
 * Wall-clock arithmetic in one IANA zone, on plain numbers: instants are epoch milliseconds, wall-clock times are
 * naive milliseconds (the wall-clock reading, counted as if it were UTC). Offsets come from luxon's zone data.
 */
export class ZoneClock {
  private readonly zone: IANAZone | null;

  constructor(readonly name: string) {
    const zoneName = name || 'UTC';
    this.zone = zoneName === 'UTC' ? null : IANAZone.create(zoneName);
    if (this.zone && !this.zone.isValid) throw new RangeError(`unknown time zone: ${name}`);
  }

  /** The zone's UTC offset at `instant`, in ms. */
  offset(instant: number): number {
    return this.zone ? this.zone.offset(instant) * MINUTE_MS : 0;
  }

  wallClock(instant: number): number {
    return instant + this.offset(instant);
  }

  /** The instant of wall-clock time `wall`, resolving a repeated or skipped time as `rule` says. */
  instant(wall: number, rule: Disambiguation): number {
    if (!this.zone) return wall;
    const offsetBefore = this.offset(wall - DAY_MS);
    const offsetAfter = this.offset(wall + DAY_MS);
    const early = wall - offsetBefore;
    const late = wall - offsetAfter;
    const earlyFits = this.wallClock(early) === wall;
    const lateFits = this.wallClock(late) === wall;
    if (earlyFits && lateFits) {
      return rule === 'later-forward' ? Math.max(early, late) : Math.min(early, late);
    }
    if (earlyFits) return early;
    if (lateFits) return late;
    // Skipped: forward reads the time with the offset in force before the gap, backward with the one after it.
    return rule === 'earlier-backward' ? late : early;
  }

  /** The last transition in (`from`, `to`], or null; transitions are found to the second. */
  lastTransitionBetween(from: number, to: number): Transition | null {
    if (!this.zone || this.offset(from) === this.offset(to)) return null;
    let low = from;
    let high = to;
    const offsetAfter = this.offset(to);
    // Narrow to the latest change of offset: the offset at `high` stays the final one.
    while (high - low > 1000) {
      const middle = low + Math.floor((high - low) / 2000) * 1000;
      if (this.offset(middle) === offsetAfter) high = middle;
      else low = middle;
    }
    return { at: high, offsetBefore: this.offset(low), offsetAfter };
  }

  /** The first transition in (`from`, `to`], or null. Zones change offset at most about weekly, so weeks are probed. */
  firstTransitionBetween(from: number, to: number): Transition | null {
    if (!this.zone) return null;
    const offsetAtStart = this.offset(from);
    for (let low = from; low < to; low += 7 * DAY_MS) {
      const high = Math.min(low + 7 * DAY_MS, to);
      if (this.offset(high) === offsetAtStart) continue;
      let a = low;
      let b = high;
      while (b - a > 1000) {
        const middle = a + Math.floor((b - a) / 2000) * 1000;
        if (this.offset(middle) === offsetAtStart) a = middle;
        else b = middle;
      }
      return { at: b, offsetBefore: offsetAtStart, offsetAfter: this.offset(b) };
    }
    return null;
  }
}

const pad = (value: number, width = 2): string => String(value).padStart(width, '0');

/**
 * Python's `str()` of an aware datetime: `YYYY-MM-DD HH:MM:SS[.ffffff]±HH:MM`, microseconds only when not zero.
 * This is the date inside a scheduled run's idempotency key.
 */
export function pythonDateTimeString(instant: number, offsetMs: number): string {
  const wall = new Date(instant + offsetMs);
  const millis = wall.getUTCMilliseconds();
  const fraction = millis === 0 ? '' : `.${pad(millis, 3)}000`;
  const offsetMinutes = Math.round(offsetMs / MINUTE_MS);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const absolute = Math.abs(offsetMinutes);
  return (
    `${pad(wall.getUTCFullYear(), 4)}-${pad(wall.getUTCMonth() + 1)}-${pad(wall.getUTCDate())} ` +
    `${pad(wall.getUTCHours())}:${pad(wall.getUTCMinutes())}:${pad(wall.getUTCSeconds())}${fraction}` +
    `${sign}${pad(Math.floor(absolute / 60))}:${pad(absolute % 60)}`
  );
}
