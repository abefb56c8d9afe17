import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
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
    const config = loadConfig({
      FOREMAN_LOOP_SECONDS: '0.25',
      LATE_RUNS_LOOP_SECONDS: '.5',
      FOREMAN_ENABLED: 'false',
      LATE_RUNS_ENABLED: 'TRUE',
    });
    expect(config).toMatchObject({
      FOREMAN_LOOP_SECONDS: 0.25,
      LATE_RUNS_LOOP_SECONDS: 0.5,
      FOREMAN_ENABLED: false,
      LATE_RUNS_ENABLED: true,
    });
  });

  it("reads the auth string under Prefect's name too, ours first", () => {
    expect(loadConfig({}).API_AUTH_STRING).toBeNull();
    expect(loadConfig({ PREFECT_SERVER_API_AUTH_STRING: 'admin:pass' }).API_AUTH_STRING).toBe('admin:pass');
    expect(loadConfig({ API_AUTH_STRING: 'ours:1', PREFECT_SERVER_API_AUTH_STRING: 'theirs:2' }).API_AUTH_STRING).toBe(
      'ours:1',
    );
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
    expect(() => loadConfig({ HTTP_HEADERS_TIMEOUT_SECONDS: '40' })).toThrow(
      /HTTP_HEADERS_TIMEOUT_SECONDS.*HTTP_REQUEST_TIMEOUT_SECONDS/,
    );
  });
});

describe('loadConfig: NATS credentials and TLS', () => {
  let dir: string;
  let file: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'config-spec-'));
    file = path.join(dir, 'some.pem');
    writeFileSync(file, 'x');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const tls = 'tls://127.0.0.1:4222';

  it('connects without credentials or TLS by default', () => {
    expect(loadConfig({})).toMatchObject({
      NATS_CREDS: undefined,
      NATS_TOKEN: undefined,
      NATS_USER: undefined,
      NATS_PASSWORD: undefined,
      NATS_TLS_CA: undefined,
      NATS_TLS_CERT: undefined,
      NATS_TLS_KEY: undefined,
    });
  });

  const withFile = (env: Record<string, string>) =>
    Object.fromEntries(Object.entries(env).map(([key, value]) => [key, value === '<file>' ? file : value]));
  const errorOf = (env: Record<string, string>): Error | undefined => {
    try {
      loadConfig(env);
      return undefined;
    } catch (error) {
      return error as Error;
    }
  };

  it.each<[string, Record<string, string>]>([
    ['a creds file', { NATS_CREDS: '<file>' }],
    ['a token', { NATS_TOKEN: 's3cret' }],
    ['a user and password', { NATS_USER: 'u', NATS_PASSWORD: 'p' }],
    ['tls:// alone (the system CAs)', { NATS_URL: tls }],
    [
      'several tls:// servers, a CA and a user',
      { NATS_URL: `${tls},tls://127.0.0.2:4222`, NATS_TLS_CA: '<file>', NATS_USER: 'u', NATS_PASSWORD: 'p' },
    ],
    [
      'mutual TLS with a creds file',
      { NATS_URL: tls, NATS_TLS_CA: '<file>', NATS_TLS_CERT: '<file>', NATS_TLS_KEY: '<file>', NATS_CREDS: '<file>' },
    ],
  ])('accepts %s', (_case, given) => {
    expect(loadConfig(withFile(given))).toMatchObject(withFile(given));
  });

  it.each<[string, Record<string, string>, string[]]>([
    ['a creds file that does not exist', { NATS_CREDS: '/nonexistent/user.creds' }, ['NATS_CREDS']],
    ['a creds path that is a directory', { NATS_CREDS: '/tmp' }, ['NATS_CREDS']],
    ['a user without a password', { NATS_USER: 'u' }, ['NATS_USER', 'NATS_PASSWORD']],
    ['a password without a user', { NATS_PASSWORD: 'p' }, ['NATS_PASSWORD', 'NATS_USER']],
    ['a token and a user', { NATS_TOKEN: 't', NATS_USER: 'u', NATS_PASSWORD: 'p' }, ['NATS_TOKEN', 'NATS_USER']],
    ['a TLS CA without tls:// URLs', { NATS_TLS_CA: '<file>' }, ['NATS_TLS_CA', 'tls://']],
    [
      'a TLS CA file that does not exist',
      { NATS_URL: 'tls://127.0.0.1:4222', NATS_TLS_CA: '/nonexistent/ca.pem' },
      ['NATS_TLS_CA'],
    ],
    [
      'a client certificate without its key',
      { NATS_URL: 'tls://127.0.0.1:4222', NATS_TLS_CERT: '<file>' },
      ['NATS_TLS_CERT', 'NATS_TLS_KEY'],
    ],
    [
      'a client key without its certificate',
      { NATS_URL: 'tls://127.0.0.1:4222', NATS_TLS_KEY: '<file>' },
      ['NATS_TLS_KEY', 'NATS_TLS_CERT'],
    ],
    [
      'tls:// and nats:// URLs mixed',
      { NATS_URL: 'tls://127.0.0.1:4222,nats://127.0.0.1:4223' },
      ['NATS_URL', 'tls://'],
    ],
  ])('rejects %s, naming the variables', (_case, given, named) => {
    const error = errorOf(withFile(given));
    expect(error).toBeInstanceOf(ConfigError);
    for (const name of named) expect(error?.message).toContain(name);
  });

  it.each([
    ['NATS_CREDS', 'NATS_TOKEN'],
    ['NATS_CREDS', 'NATS_USER'],
  ])('rejects %s together with %s', (first, second) => {
    const env: Record<string, string> = { [first]: file, [second]: 'x' };
    if (second === 'NATS_USER') env.NATS_PASSWORD = 'p';
    expect(() => loadConfig(env)).toThrow(new RegExp(`${first} cannot be combined with ${second}`));
  });

  it('never puts a secret into its error message', () => {
    const error = errorOf({ NATS_TOKEN: 'tok-s3cret', NATS_USER: 'u', NATS_PASSWORD: 'pw-s3cret' });
    expect(error?.message).toMatch(/NATS_TOKEN cannot be combined with NATS_USER/);
    expect(error?.message).not.toMatch(/s3cret/);
  });
});
