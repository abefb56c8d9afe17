import { managesDeploymentConcurrency, renewsConcurrencyLeases } from './client-versions';

describe('client versions in deployment concurrency', () => {
  it('knows the early Prefect 3 workers that enforced deployment concurrency themselves, by exact version', () => {
    for (const version of ['3.0.0rc20', '3.0.0', '3.0.1', '3.0.2', '3.0.3']) {
      expect(managesDeploymentConcurrency(version)).toBe(true);
    }
    for (const version of [null, '3.0.4', '3.0.0rc19', '2.20.0', '3.9.1']) {
      expect(managesDeploymentConcurrency(version)).toBe(false);
    }
  });

  it('counts 3.4.11 and later as renewing leases, under PEP 440 ordering', () => {
    for (const version of [
      '3.4.11',
      '3.4.11.post1',
      '3.4.11+local',
      '3.4.12',
      '3.5.0',
      '3.9.1',
      '4.0.0rc1',
      'not-a-version',
    ]) {
      expect(renewsConcurrencyLeases(version)).toBe(true);
    }
    for (const version of [null, '3.4.10', '3.4.11rc1', '3.4.11.dev3', '3.4', '2.99.0', '3.0.0rc20']) {
      expect(renewsConcurrencyLeases(version)).toBe(false);
    }
  });
});
