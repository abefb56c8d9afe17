import fc from 'fast-check';
import { DomainError } from './errors';
import { resolveLimit } from './limits';

describe('resolveLimit', () => {
  it('defaults an absent limit', () => {
    expect(resolveLimit(undefined, 200)).toBe(200);
    expect(resolveLimit(null, 50)).toBe(50);
  });

  it('accepts 0..default and rejects everything else with Prefect text', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: -2000, max: 2000 }), (max, limit) => {
        if (limit >= 0 && limit <= max) {
          expect(resolveLimit(limit, max)).toBe(limit);
        } else {
          const message =
            limit < 0
              ? 'Invalid limit: must be greater than or equal to 0.'
              : `Invalid limit: must be less than or equal to ${max}.`;
          expect(() => resolveLimit(limit, max)).toThrow(new DomainError('invalid', message));
        }
      }),
    );
  });
});
