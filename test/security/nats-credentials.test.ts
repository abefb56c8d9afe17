import { loadConfig } from '@app/config';
import { natsConnectionOptions } from '@app/messaging';
import { connect } from '@nats-io/transport-node';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TestGateway } from '../support/gateway';
import { NatsOperator } from '../support/nats-jwt';
import { PrivateNats, PrivateNatsCluster, PrivateNatsServer } from '../../bench/nats-servers';
import { TestScheduler } from '../support/scheduler';
import { makeCertificates } from '../support/tls-certificates';

/** How the secured NATS is run: one server, or a three-node cluster whose streams have three replicas. */
interface Topology {
  start(options: { config: string; tls?: boolean; clientEnv: Record<string, string> }): Promise<PrivateNats>;
  appEnv: Record<string, string>;
}

const topologies: [string, Topology][] = [
  ['one server', { start: (options) => PrivateNatsServer.start(options), appEnv: {} }],
  [
    'a three-node cluster (replicas 3)',
    {
      // The cluster's own readiness check connects as the apps do, with the same credentials.
      start: ({ clientEnv, ...options }) =>
        PrivateNatsCluster.start(3, {
          ...options,
          client: natsConnectionOptions(
            loadConfig({ NATS_URL: `${options.tls ? 'tls' : 'nats'}://127.0.0.1:4222`, ...clientEnv }).nats,
          ),
        }),
      appEnv: { NATS_STREAM_REPLICAS: '3' },
    },
  ],
];

const kinds: [string, (topology: Topology) => Promise<Secured>][] = [
  ['a token', (topology) => tokenServer(topology)],
  ['a creds file (JWT and nkey)', (topology) => credsServer(topology)],
  ['a client certificate (mutual TLS)', (topology) => mutualTlsServer(topology)],
];

/**
 * The apps on NATS servers that require a token, or JWT credentials (a creds file), or a client certificate, on one
 * server and on a cluster (NATS_URL listing every node): the scheduler publishes a due run and the gateway hands it
 * to a poll, each connected with its credentials; wrong credentials stop the connection.
 */
describe.each(
  topologies.flatMap(([where, topology]) => kinds.map(([kind, setup]) => [kind, where, topology, setup] as const)),
)('the apps on NATS requiring %s, %s', (_kind, _where, topology, setup) => {
  let secured: Secured;
  let gw: TestGateway;
  let scheduler: TestScheduler;

  beforeAll(async () => {
    secured = await setup(topology);
    gw = await TestGateway.start({ NATS_URL: secured.nats.url, ...topology.appEnv, ...secured.gatewayEnv });
    // The scheduler's own credentials, validated as the scheduler would read them from its environment.
    const nats = loadConfig({
      NATS_URL: gw.config.nats.url,
      NATS_NAMESPACE: gw.config.nats.namespace,
      ...topology.appEnv,
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
      connect({
        ...natsConnectionOptions(loadConfig({ NATS_URL: secured.nats.url, ...env }).nats),
        timeout: 3000,
        // Each node of NATS_URL tried once. A node's INFO (sent before the TLS handshake) names its peers, which nats.js
        // would put back in its list after each refusal, trying again for ever.
        maxReconnectAttempts: 1,
        ignoreClusterUpdates: true,
      });
    await expect(attempt(secured.wrongEnv)).rejects.toThrow(secured.refusal);
    await expect(attempt({})).rejects.toThrow();
    expect(secured.nats.log.some((line) => secured.refusal.test(line))).toBe(true);
  });
});

interface Secured {
  nats: PrivateNats;
  gatewayEnv: Record<string, string>;
  schedulerEnv: Record<string, string>;
  wrongEnv: Record<string, string>;
  /** How the client, and the server's log, tell of the refusal. */
  refusal: RegExp;
  dispose(): Promise<void>;
}

async function tokenServer(topology: Topology): Promise<Secured> {
  const env = { NATS_TOKEN: 't0ken-of-this-installation' };
  const nats = await topology.start({
    config: 'authorization { token: "t0ken-of-this-installation" }',
    clientEnv: env,
  });
  return {
    nats,
    gatewayEnv: env,
    schedulerEnv: env,
    wrongEnv: { NATS_TOKEN: 'guessed' },
    refusal: /Authorization Violation|authentication error/i,
    dispose: () => nats.dispose(),
  };
}

async function credsServer(topology: Topology): Promise<Secured> {
  const operator = new NatsOperator();
  const dir = mkdtempSync(path.join(tmpdir(), 'nats-creds-'));
  const creds = (name: string, content: string) => {
    const file = path.join(dir, `${name}.creds`);
    writeFileSync(file, content, { mode: 0o600 });
    return { NATS_CREDS: file };
  };
  const gatewayEnv = creds('gateway', operator.userCreds('gateway'));
  // One configuration for every node: the operator, the accounts and the resolver must agree across the cluster.
  const nats = await topology.start({ config: operator.serverConfig(), clientEnv: gatewayEnv });
  return {
    nats,
    gatewayEnv,
    schedulerEnv: creds('scheduler', operator.userCreds('scheduler')),
    wrongEnv: creds('stranger', operator.userCreds('stranger', NatsOperator.strangerAccount())),
    refusal: /Authorization Violation|authentication error/i,
    dispose: async () => {
      await nats.dispose();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function mutualTlsServer(topology: Topology): Promise<Secured> {
  const dir = mkdtempSync(path.join(tmpdir(), 'nats-mtls-'));
  const tls = makeCertificates(dir);
  const env = { NATS_TLS_CA: tls.ca, NATS_TLS_CERT: tls.client.cert, NATS_TLS_KEY: tls.client.key };
  const nats = await topology.start({
    config: `tls { cert_file: "${tls.server.cert}", key_file: "${tls.server.key}", ca_file: "${tls.ca}", verify: true }`,
    tls: true,
    clientEnv: env,
  });
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
