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

/**
 * Whether `a` and `b` read alike as jsonb (what Postgres makes of the rows: key order does not count), judged without
 * writing them, and without allocating: this compares every column of every row. Only sure answers are `true`:
 * anything but plain objects, arrays and dates (a date that keeps its offset, say) is the same only when it is the same
 * object.
 */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const prototype: unknown = Object.getPrototypeOf(a);
  if (prototype !== Object.getPrototypeOf(b)) return false;
  if (prototype === Date.prototype) return a.valueOf() === b.valueOf();
  if (prototype === Array.prototype) {
    const x = a as unknown[];
    const y = b as unknown[];
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!sameJson(x[i], y[i])) return false;
    return true;
  }
  if (prototype !== Object.prototype && prototype !== null) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let keys = 0;
  for (const key in x) {
    if (!Object.prototype.hasOwnProperty.call(y, key) || !sameJson(x[key], y[key])) return false;
    keys += 1;
  }
  for (const key in y) if (Object.prototype.hasOwnProperty.call(y, key)) keys -= 1;
  return keys === 0;
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
    const picked: Record<string, unknown> = {};
    for (const key of keys) {
      const value = record[key] ?? null;
      // A column named `__proto__` is a key like any other (assigning it would set the prototype).
      if (key === '__proto__') Object.defineProperty(picked, key, { value, enumerable: true });
      else picked[key] = value;
    }
    return picked;
  };
  return {
    columns,
    sharedColumns,
    shared: JSON.stringify(pick(first, [...sharedColumns])),
    varying: JSON.stringify(records.map((record) => pick(record, varyingColumns))),
  };
}
