/**
 * Rows for `jsonb_populate_recordset`, written once: the columns whose value is the same in every row go once, in an
 * object of their own (`shared`, for `jsonb_populate_record`), and each row of `varying` carries only the others. The
 * runs of one bulk request repeat most of their columns (flow, deployment, queue, policy, labels, state): sent whole,
 * those were three quarters of the statement's text, written by the gateway and parsed again by Postgres.
 */
export interface SharedRecordset {
  /** Every column, as the rows name them. */
  columns: string[];
  sharedColumns: ReadonlySet<string>;
  /** A JSON object: each shared column's value. */
  shared: string;
  /** A JSON array: per row, its value of each column not shared. */
  varying: string;
}

const isPlain = (value: object, prototype: object) => {
  const actual: unknown = Object.getPrototypeOf(value);
  return actual === prototype || (prototype === Object.prototype && actual === null);
};

/**
 * Whether `a` and `b` are written alike as JSON, judged without writing them (comparing is cheaper than writing, and
 * most of what is compared is not written). Only sure answers are `true`: anything but plain objects, arrays and
 * dates (a date that keeps its offset, say) is the same only when it is the same object, and objects must list
 * their keys in the same order.
 */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (a instanceof Date || b instanceof Date) {
    return isPlain(a, Date.prototype) && isPlain(b, Date.prototype) && a.valueOf() === b.valueOf();
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || !isPlain(a, Array.prototype) || !isPlain(b, Array.prototype)) {
      return false;
    }
    return a.length === b.length && a.every((item, i) => sameJson(item, b[i]));
  }
  if (!isPlain(a, Object.prototype) || !isPlain(b, Object.prototype)) return false;
  const keys = Object.keys(a);
  const otherKeys = Object.keys(b);
  if (keys.length !== otherKeys.length) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  return keys.every((key, i) => key === otherKeys[i] && sameJson(x[key], y[key]));
}

/** Splits `rows`, which must all carry the same keys (those of the first). */
export function sharedRecordset(rows: readonly object[]): SharedRecordset {
  const records = rows as readonly Record<string, unknown>[];
  const first = records[0] ?? {};
  const columns = Object.keys(first);
  const sharedColumns = new Set(
    columns.filter((column) => records.every((row) => sameJson(row[column], first[column]))),
  );
  const varyingColumns = columns.filter((column) => !sharedColumns.has(column));
  // `undefined` is written as null, as it reads (a key left out of a row reads as NULL).
  const pick = (record: Record<string, unknown>, keys: string[]) => {
    // No prototype: a column named `__proto__` is a key like any other.
    const picked = Object.create(null) as Record<string, unknown>;
    for (const key of keys) picked[key] = record[key] ?? null;
    return picked;
  };
  return {
    columns,
    sharedColumns,
    shared: JSON.stringify(pick(first, [...sharedColumns])),
    varying: JSON.stringify(records.map((record) => pick(record, varyingColumns))),
  };
}
