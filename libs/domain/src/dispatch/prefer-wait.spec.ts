import fc from 'fast-check';
import { MAX_POLL_WAIT_SECONDS, preferredWaitSeconds } from './prefer-wait';

describe('preferredWaitSeconds', () => {
  it.each([
    [undefined, 0],
    ['', 0],
    ['wait=5', 5],
    ['respond-async, wait=12', 12],
    ['wait="7"', 7],
    ['WAIT = 3', 3],
    ['wait=10; foo=bar', 10],
    ['wait=999', MAX_POLL_WAIT_SECONDS],
    ['wait=-1', 0],
    ['wait=abc', 0],
    ['handling=lenient', 0],
    [['return=minimal', 'wait=4'], 4],
  ])('%p → %p', (header, expected) => {
    expect(preferredWaitSeconds(header)).toBe(expected);
  });

  it('is always within 0..max for any header', () => {
    fc.assert(
      fc.property(fc.string(), (header) => {
        const wait = preferredWaitSeconds(header);
        expect(wait).toBeGreaterThanOrEqual(0);
        expect(wait).toBeLessThanOrEqual(MAX_POLL_WAIT_SECONDS);
      }),
    );
  });
});
