import { loadConfig } from '@app/config';
import { natsConnectionOptions } from '@app/messaging';
import { connect } from '@nats-io/transport-node';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TestGateway } from '../support/gateway';
import { NatsOperator } from '../support/nats-jwt';
import { PrivateNatsServer } from '../support/nats-server';
import { TestScheduler } from '../support/scheduler';
import { makeCertificates } from '../support/tls-certificates';

/**
 * The apps on NATS servers that require a token, or JWT credentials (a creds file): the scheduler publishes a due
 * run and the gateway hands it to a poll, each connected with its credentials; wrong credentials stop the connection.
 */
describe.each([
  ['a token', () => tokenServer()],
  ['a creds file (JWT and nkey)', () => credsServer()],
  ['a client certificate (mutual TLS)', () => mutualTlsServer()],
])('the apps on a NATS server requiring %s', (_kind, setup) => {
  let secured: Secured;
  let gw: TestGateway;
  let scheduler: TestScheduler;

  beforeAll(async () => {
    secured = await setup();
    gw = await TestGateway.start({ NATS_URL: secured.nats.url, ...secured.gatewayEnv });
    // The scheduler's own credentials, validated as the scheduler would read them from its environment.
    const nats = loadConfig({
      NATS_URL: gw.config.nats.url,
      NATS_NAMESPACE: gw.config.nats.namespace,
      ...secured.schedulerEnv,
    });
    scheduler = await TestScheduler.start({ ...gw.config, nats: nats.nats });
  });
  afterAll(async () => {
    await scheduler?.stop();
    await gw?.stop();
    await secured?.dispose();
  });

  it('deliver a due run from the scheduler to a poll of the gateway', async () => {
    const flow = await gw.post('/flows/', { name: 'f' });
    await gw.post('/work_pools/', { name: 'p', type: 'process' });
    const run = await gw.post('/flow_runs/', {
      flow_id: flow.body.id,
      work_pool_name: 'p',
      state: { type: 'SCHEDULED' },
    });
    const deadline = Date.now() + 10_000;
    let polled: { id: string }[] = [];
    while (polled.length === 0 && Date.now() < deadline) {
      polled = (await gw.post('/work_pools/p/get_scheduled_flow_runs', {})).body.map((offer: any) => offer.flow_run);
      if (polled.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(polled.map((offer) => offer.id)).toEqual([run.body.id]);
    // Delivered over NATS, not read from Postgres past the horizon: the scheduler published it.
    expect((await gw.db.repos.flowRuns.findById(run.body.id))?.dispatched_state_id).toBeTruthy();
  });

  it('refuse wrong credentials, and none, at connection', async () => {
    const attempt = (env: Record<string, string>) =>
      connect({ ...natsConnectionOptions(loadConfig({ NATS_URL: secured.nats.url, ...env }).nats), timeout: 3000 });
    await expect(attempt(secured.wrongEnv)).rejects.toThrow(secured.refusal);
    await expect(attempt({})).rejects.toThrow();
    expect(secured.nats.log.some((line) => secured.refusal.test(line))).toBe(true);
  });
});

interface Secured {
  nats: PrivateNatsServer;
  gatewayEnv: Record<string, string>;
  schedulerEnv: Record<string, string>;
  wrongEnv: Record<string, string>;
  /** How the client, and the server's log, tell of the refusal. */
  refusal: RegExp;
  dispose(): Promise<void>;
}

async function tokenServer(): Promise<Secured> {
  const nats = await PrivateNatsServer.start({ config: 'authorization { token: "t0ken-of-this-installation" }' });
  const env = { NATS_TOKEN: 't0ken-of-this-installation' };
  return {
    nats,
    gatewayEnv: env,
    schedulerEnv: env,
    wrongEnv: { NATS_TOKEN: 'guessed' },
    refusal: /Authorization Violation|authentication error/i,
    dispose: () => nats.dispose(),
  };
}

async function credsServer(): Promise<Secured> {
  const operator = new NatsOperator();
  const nats = await PrivateNatsServer.start({ config: operator.serverConfig() });
  const dir = mkdtempSync(path.join(tmpdir(), 'nats-creds-'));
  const creds = (name: string, content: string) => {
    const file = path.join(dir, `${name}.creds`);
    writeFileSync(file, content, { mode: 0o600 });
    return { NATS_CREDS: file };
  };
  return {
    nats,
    gatewayEnv: creds('gateway', operator.userCreds('gateway')),
    schedulerEnv: creds('scheduler', operator.userCreds('scheduler')),
    wrongEnv: creds('stranger', operator.userCreds('stranger', NatsOperator.strangerAccount())),
    refusal: /Authorization Violation|authentication error/i,
    dispose: async () => {
      await nats.dispose();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function mutualTlsServer(): Promise<Secured> {
  const dir = mkdtempSync(path.join(tmpdir(), 'nats-mtls-'));
  const tls = makeCertificates(dir);
  const nats = await PrivateNatsServer.start({
    config: `tls { cert_file: "${tls.server.cert}", key_file: "${tls.server.key}", ca_file: "${tls.ca}", verify: true }`,
    tls: true,
  });
  const env = { NATS_TLS_CA: tls.ca, NATS_TLS_CERT: tls.client.cert, NATS_TLS_KEY: tls.client.key };
  return {
    nats,
    gatewayEnv: env,
    schedulerEnv: env,
    wrongEnv: { NATS_TLS_CA: tls.ca },
    // The server ends the TLS handshake of a client without a certificate; nats.js then only sees its time run out.
    refusal: /TLS handshake error|timeout/i,
    dispose: async () => {
      await nats.dispose();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
