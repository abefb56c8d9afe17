import { omitsDefaultResultStorageBlockId, prefectClientVersion } from './client-version';

describe('prefectClientVersion', () => {
  it.each([
    ['prefect/2.19.6 (API 0.8.4)', '2.19.6'],
    ['prefect/3.0.3+20.g6a5cc73fb6 (API 0.8.4)', '3.0.3+20.g6a5cc73fb6'],
    ['prefect/3.0.3rc3 (API unknown)', '3.0.3rc3'],
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36', null],
    ['random', null],
    ['', null],
    [undefined, null],
  ])('%s -> %s', (header, version) => {
    expect(prefectClientVersion(header)).toBe(version);
  });
});

describe('omitsDefaultResultStorageBlockId', () => {
  it.each([
    ['3.3.7', true],
    ['3.3.6', true],
    ['2.19.6', true],
    ['3.3.7rc1', true],
    ['3.3.7.dev4', true],
    ['3.3.7.post1', false],
    ['3.3.7+12.gabc', false],
    ['3.3.8', false],
    ['3.4', false],
    ['3.9.1', false],
    ['not-a-version', false],
  ])('%s -> %s', (version, omitted) => {
    expect(omitsDefaultResultStorageBlockId(version)).toBe(omitted);
  });

  it('keeps the field when the client is unknown', () => {
    expect(omitsDefaultResultStorageBlockId(null)).toBe(false);
  });
});
