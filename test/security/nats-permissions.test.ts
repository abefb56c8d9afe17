import { loadConfig } from '@app/config';
import { natsNames } from '@app/contracts';
import { NatsClient, natsConnectionOptions, STATUS_HEADER } from '@app/messaging';
import { jetstream, jetstreamManager, JsMsg } from '@nats-io/jetstream';
import { connect, NatsConnection } from '@nats-io/transport-node';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TestGateway } from '../support/gateway';
import { PrivateNats, PrivateNatsCluster, PrivateNatsServer } from '../../bench/nats-servers';
import { AppProcess } from '../support/processes';
import { TestScheduler } from '../support/scheduler';
import { makeCertificates, TestCertificates } from '../support/tls-certificates';

const NS = 'sec';
const names = natsNames(NS);

/** The permission set of docs/nats-workers.md, exactly as documented, for this test's namespace and pools. */
function documentedAuthorization(poolIds: string[]): string {
  const doc = readFileSync(path.join(__dirname, '../../docs/nats-workers.md'), 'utf8');
  const block = /```conf\n([\s\S]*?)```/.exec(doc)?.[1];
  if (!block) throw new Error('docs/nats-workers.md has no ```conf block');
  const worker = /\n( *# The NATS-native workers[\s\S]*?)\n {2}\]/.exec(block)?.[1];
  if (!worker) throw new Error("docs/nats-workers.md's permission set has no worker user");
  const workers = poolIds.map((id) => worker.replaceAll('<pool id>', id)).join('\n');
  return block
    .replace(worker, workers)
    .replace(/\$(\w+)_PASSWORD/g, (_all, who: string) => `"${who.toLowerCase()}-secret"`)
    .replace(/\bprefect([._])/g, `${NS}$1`);
}

async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Topology {
  start(options: { config: string; tls: boolean; clientEnv: Record<string, string> }): Promise<PrivateNats>;
  appEnv: Record<string, string>;
  cluster: boolean;
}

const topologies: [string, Topology][] = [
  ['one nats-server', { start: (options) => PrivateNatsServer.start(options), appEnv: {}, cluster: false }],
  [
    'a three-node cluster (replicas 3)',
    {
      // The cluster's own readiness check connects as a party does, with its credentials.
      start: ({ clientEnv, ...options }) =>
        PrivateNatsCluster.start(3, {
          ...options,
          client: natsConnectionOptions(loadConfig({ NATS_URL: 'tls://127.0.0.1:4222', ...clientEnv }).nats),
        }),
      appEnv: { NATS_STREAM_REPLICAS: '3' },
      cluster: true,
    },
  ],
];

/**
 * NATS security against a real nats-server, and against a three-node cluster with the same configuration on every
 * node: TLS, a user per party and the per-pool permission set of docs/nats-workers.md. The apps connect with their
 * credentials; the example worker of pool A takes and claims A's runs; a client holding A's worker credentials can
 * neither read, claim, forge nor delete pool B's runs. On the cluster, the loss of a node leaves every authenticated
 * connection working, reconnected to another node with the same credentials and held to the same limits.
 */
describe.each(topologies)('NATS security on %s: credentials and per-pool permissions', (_where, topology) => {
  let dir: string;
  let tls: TestCertificates;
  let nats: PrivateNats;
  let gw: TestGateway;
  let scheduler: TestScheduler;
  let api: string;
  let flowId: string;
  const pools: Record<'A' | 'B', { id: string; queueId: string }> = {
    A: { id: '', queueId: '' },
    B: { id: '', queueId: '' },
  };
  const opened: NatsConnection[] = [];
  const started: AppProcess[] = [];

  const serverConfig = (poolIds: string[]) =>
    `tls { cert_file: "${tls.server.cert}", key_file: "${tls.server.key}" }\n${documentedAuthorization(poolIds)}`;

  /** The NATS environment of one party (passwords as the documented permission set gets them here). */
  const envOf = (user: string): Record<string, string> => ({
    NATS_URL: nats.url,
    NATS_NAMESPACE: NS,
    ...topology.appEnv,
    NATS_TLS_CA: tls.ca,
    NATS_USER: user,
    NATS_PASSWORD: `${user.replace(/-.*/, '')}-secret`,
  });

  async function connectAs(user: string, inboxPrefix?: string): Promise<NatsConnection> {
    const nc = await connect({
      ...natsConnectionOptions(loadConfig(envOf(user)).nats),
      name: `test-${user}`,
      inboxPrefix,
    });
    opened.push(nc);
    return nc;
  }

  /** Whether nats-server logged that `user` was refused `kind` (Publish or Subscription) on `subject`. */
  const violationsLogged = (kind: 'Publish' | 'Subscription', user: string, subject: string) =>
    nats.log.filter((line) => line.includes(`${kind} Violation - User "${user}", Subject "${subject}"`)).length;

  /** Waits for nats-server (the node the client is on) to log one more violation of `user` on `subject`. */
  async function expectViolation(
    kind: 'Publish' | 'Subscription',
    user: string,
    subject: string,
    before = 0,
  ): Promise<void> {
    await eventually(
      () => violationsLogged(kind, user, subject) > before,
      `a ${kind} violation of ${user} on ${subject}`,
    );
  }

  async function createRun(pool: 'A' | 'B'): Promise<string> {
    const run = await gw.post('/flow_runs/', {
      flow_id: flowId,
      work_pool_name: `pool-${pool}`,
      state: { type: 'SCHEDULED' },
    });
    expect(run.status).toBe(201);
    return run.body.id as string;
  }

  async function streamMessages(nc: NatsConnection, pool: 'A' | 'B'): Promise<number> {
    const info = await (await jetstreamManager(nc)).streams.info(names.poolStream(pools[pool].id));
    return info.state.messages;
  }

  function startWorker(pool: 'A' | 'B'): AppProcess {
    const worker = AppProcess.start('nats-worker', envOf(`worker-${pools[pool].id}`), [
      '--pool',
      `pool-${pool}`,
      '--api',
      api,
      '--once',
      '--name',
      `worker-${pool}`,
    ]);
    started.push(worker);
    return worker;
  }

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'nats-security-'));
    tls = makeCertificates(dir);
    nats = await topology.start({
      config: serverConfig([]),
      tls: true,
      clientEnv: { NATS_TLS_CA: tls.ca, NATS_USER: 'scheduler', NATS_PASSWORD: 'scheduler-secret' },
    });
    gw = await TestGateway.start(envOf('gateway'));
    scheduler = await TestScheduler.start({
      ...gw.config,
      nats: { ...gw.config.nats, user: 'scheduler', password: 'scheduler-secret' },
    });
    await gw.app.listen(0, '127.0.0.1');
    api = `${await gw.app.getUrl()}/api`.replace('[::1]', '127.0.0.1');
    flowId = (await gw.post('/flows/', { name: 'secured' })).body.id;
    for (const pool of ['A', 'B'] as const) {
      const created = await gw.post('/work_pools/', { name: `pool-${pool}`, type: 'process' });
      const queue = await gw.get(`/work_pools/pool-${pool}/queues/default`);
      pools[pool] = { id: created.body.id as string, queueId: queue.body.id as string };
    }
    // As an operator adds a pool's worker user once the pool exists.
    await nats.reconfigure(serverConfig([pools.A.id, pools.B.id]));
  });

  afterAll(async () => {
    await Promise.all(started.map((worker) => worker.stop('SIGKILL')));
    await Promise.all(opened.map((nc) => nc.close()));
    await scheduler?.stop();
    await gw?.stop();
    await nats?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses clients without credentials or without TLS', async () => {
    await expect(connect({ servers: nats.url.split(','), tls: { caFile: tls.ca } })).rejects.toThrow(
      /Authorization Violation/i,
    );
    await expect(
      connect(natsConnectionOptions(loadConfig({ ...envOf('gateway'), NATS_PASSWORD: 'wrong' }).nats)),
    ).rejects.toThrow(/Authorization Violation/i);
    // The server's certificate must chain to NATS_TLS_CA; without it, to the system's CAs, which do not know this one.
    await expect(
      connect(natsConnectionOptions(loadConfig({ ...envOf('gateway'), NATS_TLS_CA: '' }).nats)),
    ).rejects.toThrow(/certificate/i);
    // A tls:// URL makes TLS required: a server without TLS is refused rather than spoken to in plain text.
    const plain = await PrivateNatsServer.start();
    try {
      await expect(
        connect(natsConnectionOptions(loadConfig({ NATS_URL: plain.url.replace('nats://', 'tls://') }).nats)),
      ).rejects.toThrow(/tls/i);
    } finally {
      await plain.dispose();
    }
  });

  it("the apps deliver a run of pool A to A's example worker, which claims it with A's permissions alone", async () => {
    const runId = await createRun('A');
    const worker = startWorker('A');
    const claimed = await worker.waitForLine(/claimed flow run/, 20_000);
    expect(JSON.parse(claimed)).toMatchObject({ flow_run_id: runId });
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    expect((await gw.get(`/flow_runs/${runId}`)).body.state_type).toBe('PENDING');
    // Everything the worker did was within its permission set.
    expect(nats.log.filter((line) => line.includes('Violation') && line.includes('nats.js:worker-A"'))).toEqual([]);
  }, 40_000);

  describe("a client with pool A's worker credentials, against pool B's run", () => {
    let runB: string;
    let workerA: NatsConnection;
    let scheduler: NatsConnection;
    const userA = () => `worker-${pools.A.id}`;

    beforeAll(async () => {
      runB = await createRun('B');
      scheduler = await connectAs('scheduler');
      await eventually(
        async () => (await streamMessages(scheduler, 'B').catch(() => 0)) === 1,
        "B's run on B's stream",
      );
      workerA = await connectAs(userA(), `_INBOX_${pools.A.id}`);
    });

    it("cannot read B's runs: no pull, no consumer lookup, no stream read, no subscription to runs or other inboxes", async () => {
      const pull = `$JS.API.CONSUMER.MSG.NEXT.${names.poolStream(pools.B.id)}.${names.queueConsumer(pools.B.queueId)}`;
      const inbox = `_INBOX_${pools.A.id}.stolen`;
      const received: string[] = [];
      workerA.subscribe(inbox, { callback: (_error, message) => void received.push(message.subject) });
      workerA.publish(pull, JSON.stringify({ batch: 10, no_wait: true }), { reply: inbox });
      await expectViolation('Publish', userA(), pull);

      await expect(
        jetstream(workerA).consumers.get(names.poolStream(pools.B.id), names.queueConsumer(pools.B.queueId)),
      ).rejects.toThrow();
      await expectViolation(
        'Publish',
        userA(),
        `$JS.API.CONSUMER.INFO.${names.poolStream(pools.B.id)}.${names.queueConsumer(pools.B.queueId)}`,
      );

      const get = `$JS.API.STREAM.MSG.GET.${names.poolStream(pools.B.id)}`;
      workerA.publish(get, JSON.stringify({ seq: 1 }), { reply: inbox });
      await expectViolation('Publish', userA(), get);
      const direct = `$JS.API.DIRECT.GET.${names.poolStream(pools.B.id)}`;
      workerA.publish(direct, JSON.stringify({ seq: 1 }), { reply: inbox });
      await expectViolation('Publish', userA(), direct);

      for (const subject of [
        `${NS}.runs.>`,
        names.poolSubjects(pools.B.id),
        '_INBOX.>',
        `_INBOX_${pools.B.id}.>`,
        '>',
      ]) {
        workerA.subscribe(subject);
        await expectViolation('Subscription', userA(), subject);
      }
      await workerA.flush();
      expect(received).toEqual([]);
      expect(await streamMessages(scheduler, 'B')).toBe(1);
    });

    it("cannot claim B's run: B's claim subjects are denied, and B's run on A's claim subjects is not found", async () => {
      // A well-formed claim of B's run, as if A had learnt its current publication.
      const stateId = (await gw.get(`/flow_runs/${runB}`)).body.state.id as string;
      const claim = JSON.stringify({
        flow_run_id: runB,
        publication: `${runB}:${stateId}:0`,
        transition_id: randomUUID(),
      });
      await expect(workerA.request(names.claim(pools.B.id), claim, { timeout: 2000 })).rejects.toThrow();
      await expectViolation('Publish', userA(), names.claim(pools.B.id));

      const reply = await workerA.request(names.claim(pools.A.id), claim, { timeout: 5000 });
      expect(Number(reply.headers?.get(STATUS_HEADER))).toBe(404);

      // The same through the batch subjects: B's is denied; on A's, B's run is that claim's 404.
      const batch = JSON.stringify({ claims: [JSON.parse(claim)] });
      await expect(workerA.request(names.claims(pools.B.id), batch, { timeout: 2000 })).rejects.toThrow();
      await expectViolation('Publish', userA(), names.claims(pools.B.id));
      const batchReply = await workerA.request(names.claims(pools.A.id), batch, { timeout: 5000 });
      expect(Number(batchReply.headers?.get(STATUS_HEADER))).toBe(200);
      expect(batchReply.json()).toEqual({
        answers: [{ status: 404, body: { exception_message: `Flow run with id ${runB} not found` } }],
      });
      expect((await gw.get(`/flow_runs/${runB}`)).body.state_type).toBe('SCHEDULED');
    });

    it('cannot forge a run, on any pool, not even through JetStream; nor can a gateway', async () => {
      const forged = JSON.stringify({
        work_pool_id: pools.A.id,
        work_queue_id: pools.A.queueId,
        flow_run: { id: runB, job_variables: { command: 'evil' } },
      });
      for (const pool of ['A', 'B'] as const) {
        const subject = names.queueSubject(pools[pool].id, pools[pool].queueId);
        workerA.publish(subject, forged);
        await expectViolation('Publish', userA(), subject);
      }
      await expect(
        jetstream(workerA).publish(names.queueSubject(pools.A.id, pools.A.queueId), forged, { timeout: 2000 }),
      ).rejects.toThrow();

      const gateway = await connectAs('gateway');
      gateway.publish(names.queueSubject(pools.A.id, pools.A.queueId), forged);
      await expectViolation('Publish', 'gateway', names.queueSubject(pools.A.id, pools.A.queueId));
      await gateway.flush();
      expect(await streamMessages(scheduler, 'A')).toBe(0);
      expect(await streamMessages(scheduler, 'B')).toBe(1);
    });

    it("cannot delete, purge or change streams and consumers, nor settle B's messages", async () => {
      const stream = names.poolStream(pools.B.id);
      const consumer = names.queueConsumer(pools.B.queueId);
      for (const subject of [
        `$JS.API.STREAM.DELETE.${stream}`,
        `$JS.API.STREAM.PURGE.${stream}`,
        `$JS.API.STREAM.UPDATE.${stream}`,
        `$JS.API.CONSUMER.DELETE.${stream}.${consumer}`,
        `$JS.API.CONSUMER.CREATE.${names.poolStream(pools.A.id)}.mine`,
        `$JS.ACK.${stream}.${consumer}.1.1.1.0.0`,
      ]) {
        workerA.publish(subject, '{}');
        await expectViolation('Publish', userA(), subject);
      }
      await expect(jetstreamManager(workerA).then((jsm) => jsm.streams.delete(stream))).rejects.toThrow();
      await workerA.flush();
      expect(await streamMessages(scheduler, 'B')).toBe(1);
    });

    it("and after all that, B's run is still on the bus and B's own worker claims it", async () => {
      const worker = startWorker('B');
      expect(JSON.parse(await worker.waitForLine(/claimed flow run/, 20_000))).toMatchObject({ flow_run_id: runB });
      expect(await worker.exited).toEqual({ code: 0, signal: null });
      expect((await gw.get(`/flow_runs/${runB}`)).body.state_type).toBe('PENDING');
    }, 40_000);
  });

  if (topology.cluster) {
    it('loses a node: every authenticated connection moves to another, same credentials, same limits', async () => {
      const cluster = nats as PrivateNatsCluster;
      const gatewayNats = gw.app.get(NatsClient);
      const victim = cluster.server(gatewayNats.connection.info?.server_name ?? '');
      const userA = `worker-${pools.A.id}`;
      // A worker of pool A given that node alone: it knows the others only as the cluster announced them.
      const workerA = await connect({
        ...natsConnectionOptions(loadConfig({ ...envOf(userA), NATS_URL: victim.url }).nats),
        name: 'test-worker-A',
        inboxPrefix: `_INBOX_${pools.A.id}`,
      });
      opened.push(workerA);
      await workerA.flush();
      expect(workerA.info?.server_name).toBe(victim.serverName);
      // True on its first reconnection; false if it closed instead.
      const reconnected = (async () => {
        for await (const status of workerA.status()) if (status.type === 'reconnect') return true;
        return false;
      })();
      const gatewayReconnects = gatewayNats.reconnects;

      await victim.stop('SIGKILL');
      const killedAt = Date.now();
      expect(
        await Promise.race([reconnected, new Promise((resolve) => setTimeout(() => resolve(false), 15_000))]),
      ).toBe(true);
      await eventually(() => gatewayNats.reconnects > gatewayReconnects, 'the gateway reconnected', 15_000);
      expect(workerA.info?.server_name).not.toBe(victim.serverName);

      // A new run of A: published by the scheduler, pulled by A's worker, claimed through the gateway.
      const runId = await createRun('A');
      let message: JsMsg | null = null;
      await eventually(
        async () => {
          const consumer = await jetstream(workerA)
            .consumers.get(names.poolStream(pools.A.id), names.queueConsumer(pools.A.queueId))
            .catch(() => null);
          message = consumer && (await consumer.next({ expires: 1000 }).catch(() => null));
          return message !== null;
        },
        "A's new run pulled after the loss",
        30_000,
      );
      const pulled = message as unknown as JsMsg;
      const publication = pulled.headers?.get('Nats-Msg-Id') ?? '';
      expect(publication.split(':')[0]).toBe(runId);
      const reply = await workerA.request(
        names.claim(pools.A.id),
        JSON.stringify({ flow_run_id: runId, publication, transition_id: randomUUID() }),
        { timeout: 5000 },
      );
      expect(Number(reply.headers?.get(STATUS_HEADER))).toBeLessThan(300);
      expect(reply.json<{ status: string }>().status).toBe('ACCEPT');
      pulled.ack();
      const claimedMs = Date.now() - killedAt;
      expect((await gw.get(`/flow_runs/${runId}`)).body.state_type).toBe('PENDING');

      // Held to the same limits on the node it moved to.
      const pullB = `$JS.API.CONSUMER.MSG.NEXT.${names.poolStream(pools.B.id)}.${names.queueConsumer(pools.B.queueId)}`;
      const before = violationsLogged('Publish', userA, pullB);
      workerA.publish(pullB, JSON.stringify({ batch: 1, no_wait: true }));
      await expectViolation('Publish', userA, pullB, before);
      process.stdout.write(
        `cluster security: ${victim.serverName} (the gateway's node) SIGKILLed; A's worker reconnected, ` +
          `pulled and claimed a new run ${claimedMs} ms after the kill\n`,
      );
    }, 60_000);
  }
});
