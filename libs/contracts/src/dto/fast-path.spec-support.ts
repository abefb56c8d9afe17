import fc from 'fast-check';

// What the property tests of the body fast paths share: each fast path must build exactly what the full validation
// builds, wherever it builds anything.

/**
 * Values of every kind, valid and not, including those lax validation converts ("yes", 1, "2026-01-01"), and any
 * `extra` ones worth trying on the fields of one body.
 */
export function anyValue(...extra: unknown[]): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom('yes', 'true', 1, 0, '1', '', '2026-01-01T00:00:00Z', '2026-01-01', 1_767_225_600, ...extra),
  );
}

/** Date-times as clients write them (an offset, microseconds), or null. */
export const dateTime = fc.oneof(
  fc
    .date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
    .map((d) => d.toISOString()),
  fc.constantFrom('2026-06-01T12:00:00+02:00', '2026-06-01T12:00:00.123456Z', null),
);

/** `bodies`, and those bodies with one value or two, at any of `fields` (dotted paths), replaced by `values`. */
export function strayed(
  bodies: fc.Arbitrary<object>,
  fields: readonly string[],
  values: fc.Arbitrary<unknown>,
): fc.Arbitrary<unknown> {
  return fc.oneof(
    bodies,
    fc
      .tuple(bodies, fc.array(fc.tuple(fc.constantFrom(...fields), values), { minLength: 1, maxLength: 2 }))
      .map(([raw, changes]) => {
        const out = parsed(raw) as Record<string, any>;
        for (const [path, value] of changes) {
          const keys = path.split('.');
          let at = out;
          for (const key of keys.slice(0, -1)) {
            if (typeof at[key] !== 'object' || at[key] === null || Array.isArray(at[key])) at[key] = {};
            at = at[key];
          }
          at[keys[keys.length - 1]] = value;
        }
        return out;
      }),
  );
}

/**
 * The body as the gateway parses it (structuredClone would make objects of another realm under Jest, which
 * class-transformer does not take for plain ones).
 */
export const parsed = (raw: unknown): unknown => (raw === undefined ? undefined : JSON.parse(JSON.stringify(raw)));

/**
 * Wherever `fastPath` builds an instance of a body, `validated` (the full validation: the instance, or null when it
 * refuses the body) builds the same one; and the bodies reach the fast path at least `minTaken` times, for the
 * comparison to mean something.
 */
export function expectSameAsFullValidation<T>(
  fastPath: (body: unknown) => T | null,
  validated: (body: unknown) => T | null,
  bodies: fc.Arbitrary<unknown>,
  { numRuns, minTaken }: { numRuns: number; minTaken: number },
): void {
  let taken = 0;
  fc.assert(
    fc.property(bodies, (raw) => {
      const fast = fastPath(parsed(raw));
      if (fast === null) return;
      taken++;
      const full = validated(raw);
      expect(full).not.toBeNull();
      expect(fast).toStrictEqual(full);
    }),
    { numRuns },
  );
  expect(taken).toBeGreaterThan(minTaken);
}
