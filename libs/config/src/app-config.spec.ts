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
    ['FOREMAN_ENABLED', 'yes'],
    ['FOREMAN_LOOP_SECONDS', '0'],
    ['FOREMAN_INACTIVITY_HEARTBEAT_MULTIPLE', '1.5'],
    ['LATE_RUNS_LOOP_SECONDS', 'soon'],
    ['LATE_RUNS_AFTER_SECONDS', '-1'],
  ])('rejects a bad %s and names it', (key, value) => {
    expect(() => loadConfig({ [key]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [key]: value })).toThrow(new RegExp(key));
  });

  it("has Prefect's defaults for the foreman and late runs", () => {
    expect(loadConfig({})).toMatchObject({
      FOREMAN_ENABLED: true,
      FOREMAN_LOOP_SECONDS: 15,
      FOREMAN_INACTIVITY_HEARTBEAT_MULTIPLE: 3,
      FOREMAN_FALLBACK_HEARTBEAT_INTERVAL_SECONDS: 30,
      FOREMAN_DEPLOYMENT_LAST_POLLED_TIMEOUT_SECONDS: 60,
      FOREMAN_WORK_QUEUE_LAST_POLLED_TIMEOUT_SECONDS: 60,
      LATE_RUNS_ENABLED: true,
      LATE_RUNS_LOOP_SECONDS: 5,
      LATE_RUNS_AFTER_SECONDS: 15,
    });
  });

  it('reads fractional loop intervals and switches', () => {
    const config = loadConfig({ FOREMAN_LOOP_SECONDS: '0.25', LATE_RUNS_LOOP_SECONDS: '.5', FOREMAN_ENABLED: 'false', LATE_RUNS_ENABLED: 'TRUE' });
    expect(config).toMatchObject({ FOREMAN_LOOP_SECONDS: 0.25, LATE_RUNS_LOOP_SECONDS: 0.5, FOREMAN_ENABLED: false, LATE_RUNS_ENABLED: true });
  });

  it("reads the auth string under Prefect's name too, ours first", () => {
    expect(loadConfig({}).API_AUTH_STRING).toBeNull();
    expect(loadConfig({ PREFECT_SERVER_API_AUTH_STRING: 'admin:pass' }).API_AUTH_STRING).toBe('admin:pass');
    expect(loadConfig({ API_AUTH_STRING: 'ours:1', PREFECT_SERVER_API_AUTH_STRING: 'theirs:2' }).API_AUTH_STRING).toBe('ours:1');
  });

  it("has Prefect's CORS defaults and protective HTTP limits", () => {
    expect(loadConfig({})).toMatchObject({
      CORS_ALLOWED_ORIGINS: '*',
      CORS_ALLOWED_METHODS: '*',
      CORS_ALLOWED_HEADERS: '*',
      HTTP_BODY_LIMIT_BYTES: 8 * 1024 * 1024,
      HTTP_HEADERS_TIMEOUT_SECONDS: 10,
      HTTP_REQUEST_TIMEOUT_SECONDS: 30,
      HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: 10,
      HTTP_MAX_CONNECTIONS: 10_000,
    });
  });

  it.each([
    ['HTTP_BODY_LIMIT_BYTES', '1mb'],
    ['HTTP_MAX_CONNECTIONS', '0'],
    ['HTTP_REQUEST_TIMEOUT_SECONDS', '0'],
  ])('rejects a bad %s and names it', (key, value) => {
    expect(() => loadConfig({ [key]: value })).toThrow(new RegExp(key));
  });

  it('rejects a headers timeout longer than the request timeout, naming both', () => {
    expect(() => loadConfig({ HTTP_HEADERS_TIMEOUT_SECONDS: '40' })).toThrow(/HTTP_HEADERS_TIMEOUT_SECONDS.*HTTP_REQUEST_TIMEOUT_SECONDS/);
  });
});
