import fc from 'fast-check';
import { sharedRecordset } from './shared-recordset';

/** What Postgres reads for each row: the shared record under the row's own columns. */
function readBack(rows: object[]): unknown[] {
  const split = sharedRecordset(rows);
  const shared = JSON.parse(split.shared) as Record<string, unknown>;
  return (JSON.parse(split.varying) as Record<string, unknown>[]).map((row) => ({ ...shared, ...row }));
}

/** What the rows sent whole would read as (a key whose value is undefined reads as NULL). */
const whole = (rows: object[]) =>
  rows.map((row) =>
    Object.fromEntries(Object.entries(row).map(([key, value]) => [key, JSON.parse(JSON.stringify(value) ?? 'null')])),
  );

describe('sharedRecordset', () => {
  it('sends what every row shares once, and each row reads back as sent whole', () => {
    const at = new Date('2026-12-07T05:00:00.123Z');
    const rows = [
      { id: 'a', flow_id: 'f', policy: { retries: null, keys: [] }, at, n: 1, gone: undefined, none: null },
      { id: 'b', flow_id: 'f', policy: { retries: null, keys: [] }, at, n: 2, gone: undefined, none: null },
    ];
    const split = sharedRecordset(rows);
    expect([...split.sharedColumns]).toEqual(['flow_id', 'policy', 'at', 'gone', 'none']);
    expect(JSON.parse(split.varying)).toEqual([
      { id: 'a', n: 1 },
      { id: 'b', n: 2 },
    ]);
    expect(readBack(rows)).toEqual(whole(rows));
  });

  it('reads back as the rows sent whole, whatever they hold', () => {
    /** A date written with the offset it was given (as contracts' OffsetDateTime is). */
    class OffsetDate extends Date {
      constructor(private readonly text: string) {
        super(text);
      }
      override toJSON(): string {
        return this.text;
      }
    }
    const value = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.constantFrom(
        undefined,
        null,
        0,
        -0,
        '',
        'x',
        [],
        {},
        { a: 1, b: 2 },
        { b: 2, a: 1 },
        { a: undefined },
        { b: 2 },
      ),
      fc.constantFrom(new Date(0), new Date(0), new OffsetDate('1970-01-01T01:00:00+01:00')),
      fc.constantFrom(new OffsetDate('1970-01-01T00:00:00Z'), new Date(Number.NaN)),
    );
    const rows = fc
      .uniqueArray(fc.string({ minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 5 })
      .chain((keys) =>
        fc.array(
          fc
            .tuple(...keys.map(() => value))
            .map((values) => Object.fromEntries(keys.map((key, i) => [key, values[i]]))),
          { minLength: 1, maxLength: 4 },
        ),
      );
    fc.assert(fc.property(rows, (generated) => expect(readBack(generated)).toEqual(whole(generated))));
  });
});
