import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from './app-config';
import { ConfigEnv } from './config-env';

describe('loadConfig', () => {
  it('uses working defaults when nothing is set', () => {
    const config = loadConfig({});
    expect(config.http.port).toBe(4200);
    expect(config.http.host).toBe('127.0.0.1');
    expect(config.nats.url).toBe('nats://127.0.0.1:4222');
    expect(config.nats.namespace).toBe('prefect');
    expect(config.nats.streamReplicas).toBe(1);
    expect(config.db.url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:5432\//);
  });

  it('reads and converts provided values', () => {
    const config = loadConfig({ PORT: '8080', NATS_NAMESPACE: 'team-a', DATABASE_URL: 'postgresql://u@h/db' });
    expect(config.http.port).toBe(8080);
    expect(config.nats.namespace).toBe('team-a');
    expect(config.db.url).toBe('postgresql://u@h/db');
  });

  it.each([1, 3, 5])('takes %i stream replicas', (replicas) => {
    expect(loadConfig({ NATS_STREAM_REPLICAS: String(replicas) }).nats.streamReplicas).toBe(replicas);
  });

  it.each([
    ['NATS_STREAM_REPLICAS', '2'],
    ['NATS_STREAM_REPLICAS', 'three'],
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
      foreman: {
        enabled: true,
        loopSeconds: 15,
        inactivityHeartbeatMultiple: 3,
        fallbackHeartbeatIntervalSeconds: 30,
        deploymentLastPolledTimeoutSeconds: 60,
        workQueueLastPolledTimeoutSeconds: 60,
      },
      lateRuns: { enabled: true, loopSeconds: 5, afterSeconds: 15 },
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
      foreman: { loopSeconds: 0.25, enabled: false },
      lateRuns: { loopSeconds: 0.5, enabled: true },
    });
  });

  it("reads the auth string under Prefect's name too, ours first", () => {
    expect(loadConfig({}).api.authString).toBeNull();
    expect(loadConfig({ PREFECT_SERVER_API_AUTH_STRING: 'admin:pass' }).api.authString).toBe('admin:pass');
    expect(loadConfig({ API_AUTH_STRING: 'ours:1', PREFECT_SERVER_API_AUTH_STRING: 'theirs:2' }).api.authString).toBe(
      'ours:1',
    );
  });

  it("has Prefect's CORS defaults and protective HTTP limits", () => {
    expect(loadConfig({}).http).toMatchObject({
      corsAllowedOrigins: '*',
      corsAllowedMethods: '*',
      corsAllowedHeaders: '*',
      bodyLimitBytes: 8 * 1024 * 1024,
      headersTimeoutSeconds: 10,
      requestTimeoutSeconds: 30,
      keepAliveTimeoutSeconds: 10,
      maxConnections: 10_000,
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
  const NATS_FIELDS: Record<string, string> = {
    NATS_URL: 'url',
    NATS_CREDS: 'creds',
    NATS_TOKEN: 'token',
    NATS_USER: 'user',
    NATS_PASSWORD: 'password',
    NATS_TLS_CA: 'tlsCa',
    NATS_TLS_CERT: 'tlsCert',
    NATS_TLS_KEY: 'tlsKey',
  };

  it('connects without credentials or TLS by default', () => {
    expect(loadConfig({}).nats).toMatchObject({
      creds: undefined,
      token: undefined,
      user: undefined,
      password: undefined,
      tlsCa: undefined,
      tlsCert: undefined,
      tlsKey: undefined,
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
    const nats = Object.fromEntries(Object.entries(withFile(given)).map(([key, value]) => [NATS_FIELDS[key], value]));
    expect(loadConfig(withFile(given)).nats).toMatchObject(nats);
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

describe('loadConfig: grouped by concern', () => {
  let dir: string;
  let file: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'config-groups-'));
    file = path.join(dir, 'some.pem');
    writeFileSync(file, 'x');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const leaves = (value: object, prefix = ''): Map<string, unknown> =>
    new Map(
      Object.entries(value).flatMap(([key, child]) =>
        typeof child === 'object' && child !== null
          ? [...leaves(child as object, `${prefix}${key}.`)]
          : [[`${prefix}${key}`, child] as const],
      ),
    );

  /** A valid value other than the default, with the variables it cannot be set without. */
  const changed = (key: string, value: unknown): Record<string, string> => {
    if (['NATS_TLS_CA', 'NATS_TLS_CERT', 'NATS_TLS_KEY'].includes(key)) {
      return { NATS_URL: 'tls://127.0.0.1:4222', NATS_TLS_CA: file, NATS_TLS_CERT: file, NATS_TLS_KEY: file };
    }
    if (key === 'NATS_USER' || key === 'NATS_PASSWORD') return { NATS_USER: 'u', NATS_PASSWORD: 'p' };
    if (key === 'NATS_CREDS') return { NATS_CREDS: file };
    const other: Record<string, string> = {
      DATABASE_URL: 'postgres://other@db/x',
      NATS_URL: 'nats://other:4222',
      NATS_NAMESPACE: 'other',
      HOST: '0.0.0.0',
      LOG_LEVEL: 'debug',
      NATS_STREAM_REPLICAS: '3',
    };
    if (key in other) return { [key]: other[key] };
    if (typeof value === 'number') return { [key]: String(value + 1) };
    if (typeof value === 'boolean') return { [key]: String(!value) };
    return { [key]: 'other' };
  };

  it('gives the apps db, nats, http, api, logging, metrics, dispatch, foreman, lateRuns, scheduler and deploymentConcurrency', () => {
    expect(Object.keys(loadConfig({})).sort()).toEqual(
      [
        'api',
        'db',
        'deploymentConcurrency',
        'dispatch',
        'foreman',
        'http',
        'lateRuns',
        'logging',
        'metrics',
        'nats',
        'scheduler',
      ].sort(),
    );
  });

  it('puts every variable into exactly one field of its own', () => {
    const variables = Object.entries(new ConfigEnv()) as [string, unknown][];
    const defaults = leaves(loadConfig({}));
    expect(defaults.size).toBe(variables.length);
    const reached = new Set<string>();
    for (const [key, value] of variables) {
      const env = changed(key, value);
      const moved = [...leaves(loadConfig(env))].filter(([field, now]) => now !== defaults.get(field));
      // As many fields move as variables were set (a variable needing a partner is set with it).
      expect([key, moved.length]).toEqual([key, Object.keys(env).length]);
      for (const [field] of moved) reached.add(field);
    }
    // As many fields as variables, each moved by some variable: no variable is dropped or shares a field.
    expect(reached.size).toBe(variables.length);
  });

  it('maps a sample of each group', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://u@h/d',
      NATS_URL: 'nats://n:1',
      PORT: '1234',
      DEFAULT_LIMIT: '7',
      LOG_LEVEL: 'warn',
      DELIVERY_LEASE_SECONDS: '9',
      DISPATCH_RECONCILE_SECONDS: '2.5',
      FOREMAN_WORK_QUEUE_LAST_POLLED_TIMEOUT_SECONDS: '61',
      LATE_RUNS_AFTER_SECONDS: '16',
      SCHEDULER_INSERT_BATCH_SIZE: '5',
      DEPLOYMENT_CONCURRENCY_SLOT_WAIT_SECONDS: '4',
      METRICS_PORT: '9100',
      SHUTDOWN_DRAIN_SECONDS: '3',
    });
    expect(config).toMatchObject({
      db: { url: 'postgres://u@h/d' },
      nats: { url: 'nats://n:1' },
      http: { port: 1234, shutdownDrainSeconds: 3 },
      metrics: { port: 9100, sampleSeconds: 15 },
      api: { defaultLimit: 7 },
      logging: { level: 'warn' },
      dispatch: { leaseSeconds: 9, reconcileSeconds: 2.5 },
      foreman: { workQueueLastPolledTimeoutSeconds: 61 },
      lateRuns: { afterSeconds: 16 },
      scheduler: { insertBatchSize: 5 },
      deploymentConcurrency: { slotWaitSeconds: 4 },
    });
  });

  it('cannot be changed after boot', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.dispatch)).toBe(true);
  });
});
