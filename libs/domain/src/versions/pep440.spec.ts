import fc from 'fast-check';
import { comparePep440 } from './pep440';

describe('comparePep440', () => {
  it('orders pre-, dev-, post-releases and local builds around their release', () => {
    const ascending = [
      '2.99.0',
      '3.4',
      '3.4.11.dev3',
      '3.4.11rc1',
      '3.4.11',
      '3.4.11+local',
      '3.4.11.post1',
      '3.4.12',
      '4.0.0rc1',
    ];
    for (let i = 0; i + 1 < ascending.length; i++) {
      expect(comparePep440(ascending[i], ascending[i + 1])).toBeLessThan(0);
      expect(comparePep440(ascending[i + 1], ascending[i])).toBeGreaterThan(0);
    }
  });

  it('treats trailing zeros, a leading v and surrounding blanks as the same version', () => {
    expect(comparePep440('3.4.0', '3.4')).toBe(0);
    expect(comparePep440('v3.3.7', '3.3.7')).toBe(0);
    expect(comparePep440(' 3.3.7 ', '3.3.7')).toBe(0);
  });

  it('answers null for anything that is not a PEP 440 version', () => {
    for (const version of ['not-a-version', '', '3.3.7 beta', '1..2']) {
      expect(comparePep440(version, '3.3.7')).toBeNull();
    }
    expect(comparePep440('3.3.7', 'nope')).toBeNull();
  });

  it('orders plain releases as their numeric parts do', () => {
    const release = fc.array(fc.nat({ max: 50 }), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(release, release, (a, b) => {
        const width = Math.max(a.length, b.length);
        const padded = (parts: number[]) => [...parts, ...Array<number>(width - parts.length).fill(0)];
        const [x, y] = [padded(a), padded(b)];
        const index = x.findIndex((part, i) => part !== y[i]);
        const expected = index < 0 ? 0 : Math.sign(x[index] - y[index]);
        expect(Math.sign(comparePep440(a.join('.'), b.join('.')) ?? NaN)).toBe(expected);
      }),
    );
  });
});
