import { ConfigError, loadConfig } from './app-config';

describe('loadConfig', () => {
  it('uses working defaults when nothing is set', () => {
    const config = loadConfig({});
    expect(config.PORT).toBe(4200);
    expect(config.HOST).toBe('127.0.0.1');
    expect(config.NATS_URL).toBe('nats://127.0.0.1:4222');
    expect(config.NATS_NAMESPACE).toBe('prefect');
    expect(config.DATABASE_URL).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:5432\//);
  });

  it('reads and converts provided values', () => {
    const config = loadConfig({ PORT: '8080', NATS_NAMESPACE: 'team-a', DATABASE_URL: 'postgresql://u@h/db' });
    expect(config.PORT).toBe(8080);
    expect(config.NATS_NAMESPACE).toBe('team-a');
    expect(config.DATABASE_URL).toBe('postgresql://u@h/db');
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['NATS_NAMESPACE', 'a.b'],
    ['NATS_URL', 'http://x'],
    ['DATABASE_URL', 'mysql://x'],
    ['LOG_LEVEL', 'loud'],
  ])('rejects a bad %s and names it', (key, value) => {
    expect(() => loadConfig({ [key]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [key]: value })).toThrow(new RegExp(key));
  });
});
