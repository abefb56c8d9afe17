import { isAllowedReservedPoolUpdate, isReservedWorkPoolName } from './reserved-names';

describe('reserved work pool names', () => {
  it.each([
    'Prefect',
    'Prefect Pool',
    'PrefectPool',
    'Prefect-Pool',
    'prefect',
    'prefect pool',
    'prefectpool',
    'prefect-pool',
    'PREFECT',
  ])('%s is reserved', (name) => expect(isReservedWorkPoolName(name)).toBe(true));

  it.each(['my-prefect', ' prefect', 'pref', 'default'])('%s is not reserved', (name) =>
    expect(isReservedWorkPoolName(name)).toBe(false),
  );

  it('reserved pools may only be paused or have their concurrency limit set', () => {
    expect(isAllowedReservedPoolUpdate(['is_paused', 'concurrency_limit'])).toBe(true);
    expect(isAllowedReservedPoolUpdate([])).toBe(true);
    expect(isAllowedReservedPoolUpdate(['is_paused', 'description'])).toBe(false);
  });
});
