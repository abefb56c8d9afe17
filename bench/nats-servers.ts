import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { AddressInfo, createServer, Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, ConnectionOptions } from '@nats-io/transport-node';
import { freePort } from './apps';

// The integration tests and the benchmark's cluster section share these: tests import them from bench/, whose own
// tsconfig cannot reach into test/.

const NATS_SERVER = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';
const START_ATTEMPTS = 3;
const ADDRESS_IN_USE = 'address already in use';

export interface PrivateNatsServerOptions {
  /** nats-server configuration (users, permissions, TLS ...); the port, address and JetStream store come from flags. */
  config?: string;
  /** Clients must use TLS: the config has a `tls` block. */
  tls?: boolean;
  /** Member of a cluster: its name, its own route port and its peers' route ports. */
  cluster?: { name: string; serverName: string; routePort: number; peerRoutePorts: number[] };
}

/** One nats-server or a cluster of them, as a test that secures it sees it. */
export interface PrivateNats {
  /** Every server's URL, comma-separated, as NATS_URL takes them. */
  readonly url: string;
  /** Everything the servers logged (permission violations among them). */
  readonly log: readonly string[];
  reconfigure(config: string): Promise<void>;
  dispose(): Promise<void>;
}

/** A nats-server with JetStream of a test's own, which the test may stop, restart, reconfigure and wipe at will. */
export class PrivateNatsServer implements PrivateNats {
  private child?: ChildProcess;
  private readonly storeDirs: string[] = [];
  private readonly configFile: string;
  private config: string;
  /** Everything the server logged, line by line (permission violations among them). */
  readonly log: string[] = [];

  private constructor(
    readonly port: number,
    private storeDir: string,
    private readonly options: PrivateNatsServerOptions,
  ) {
    this.storeDirs.push(storeDir);
    this.configFile = path.join(storeDir, 'nats-server.conf');
    this.config = options.config ?? '';
  }

  /**
   * Starts one on a free port. A port found free can be taken by another process before the server binds it (tests
   * and benchmarks start servers side by side): then it starts again on another.
   */
  static async start(options: PrivateNatsServerOptions = {}, port?: number): Promise<PrivateNatsServer> {
    for (let attempt = 1; ; attempt++) {
      const server = new PrivateNatsServer(port ?? (await freePort()), PrivateNatsServer.newStoreDir(), options);
      try {
        await server.spawn();
        return server;
      } catch (error) {
        await server.dispose();
        if (attempt === START_ATTEMPTS || !server.log.some((line) => line.includes(ADDRESS_IN_USE))) throw error;
      }
    }
  }

  /** The server's name in its cluster (JetStream reports stream leaders by it); undefined outside a cluster. */
  get serverName(): string | undefined {
    return this.options.cluster?.serverName;
  }

  private static newStoreDir(): string {
    return mkdtempSync(path.join(tmpdir(), 'nats-store-'));
  }

  get url(): string {
    return `${this.options.tls ? 'tls' : 'nats'}://127.0.0.1:${this.port}`;
  }

  /** Address and JetStream belong in the file, not in flags: a reload applies the file alone, and would stop JetStream. */
  private writeConfig(config: string): void {
    const cluster = this.options.cluster;
    // Routes to every peer, itself left out; JetStream in a cluster needs a server name unique in it.
    const clusterBlock = cluster
      ? `server_name: "${cluster.serverName}"\ncluster {\n  name: "${cluster.name}"\n  listen: "127.0.0.1:${cluster.routePort}"\n` +
        `  routes: [${cluster.peerRoutePorts.map((port) => `"nats://127.0.0.1:${port}"`).join(', ')}]\n}\n`
      : '';
    writeFileSync(
      this.configFile,
      `listen: "127.0.0.1:${this.port}"\njetstream { store_dir: "${this.storeDir}" }\n${clusterBlock}${config}\n`,
    );
  }

  private spawn(): Promise<void> {
    this.writeConfig(this.config);
    const child = spawn(NATS_SERVER, ['-c', this.configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const ready = this.waitForLog('Server is ready');
    child.stdout?.on('data', (chunk: Buffer) => this.onOutput(chunk));
    child.stderr?.on('data', (chunk: Buffer) => this.onOutput(chunk));
    // 'close', not 'exit': by then the output that says why it stopped has been read.
    const exited = new Promise<never>((_resolve, reject) =>
      child.once('close', (code) => reject(new Error(`nats-server exited with ${code}:\n${this.log.join('\n')}`))),
    );
    exited.catch(() => undefined);
    return Promise.race([ready, exited]).then(() => undefined);
  }

  private waiters: { text: string; from: number; resolve: () => void }[] = [];

  private onOutput(chunk: Buffer): void {
    this.log.push(...chunk.toString().split('\n').filter(Boolean));
    this.waiters = this.waiters.filter((waiter) =>
      this.log.slice(waiter.from).some((line) => line.includes(waiter.text)) ? (waiter.resolve(), false) : true,
    );
  }

  /** Resolves once the server logs a line containing `text` (from now on). */
  private waitForLog(text: string, timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`nats-server did not log "${text}":\n${this.log.join('\n')}`)),
        timeoutMs,
      );
      this.waiters.push({ text, from: this.log.length, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  /**
   * Replaces the configuration and has the running server reload it (SIGHUP), as an operator adding a user would; a
   * stopped server gets it when it starts again.
   */
  async reconfigure(config: string): Promise<void> {
    this.config = config;
    if (!this.running) return;
    this.writeConfig(config);
    const reloaded = this.waitForLog('Reloaded server configuration');
    this.child?.kill('SIGHUP');
    await reloaded;
  }

  /** Stops the server the way an orchestrator would (SIGTERM), or as a crash would (SIGKILL), and waits for it to exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }

  /** The process id while it runs (the benchmark samples its CPU). */
  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts it again on the same port, with its file store kept or lost. */
  async restart({ keepStore }: { keepStore: boolean }): Promise<void> {
    await this.stop();
    if (!keepStore) {
      this.storeDir = PrivateNatsServer.newStoreDir();
      this.storeDirs.push(this.storeDir);
    }
    await this.spawn();
  }

  async dispose(): Promise<void> {
    await this.stop();
    this.storeDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
  }
}

export interface PrivateNatsClusterOptions {
  /** The configuration of every node (users, permissions, an operator and its resolver, TLS ...): identical on all. */
  config?: string;
  /** Clients must use TLS: the config has a `tls` block (routes stay plain, on loopback). */
  tls?: boolean;
  /** Credentials (and TLS settings) the cluster's own JetStream check connects with, when the config requires them. */
  client?: Omit<ConnectionOptions, 'servers'>;
}

/**
 * A real NATS cluster of the test's own: `size` nats-server processes with JetStream, each on its own client and
 * route ports with its own store, routed to all the others. Ready once JetStream has a meta leader, so streams
 * with replicas can be created at once.
 */
export class PrivateNatsCluster implements PrivateNats {
  private constructor(
    readonly name: string,
    readonly servers: PrivateNatsServer[],
    private readonly client: Omit<ConnectionOptions, 'servers'>,
  ) {}

  /**
   * Starts `size` nodes on client and route ports that are free and distinct; should one of them be taken meanwhile
   * by another process (a node cannot bind it), the whole cluster starts again on other ports.
   */
  static async start(size = 3, options: PrivateNatsClusterOptions = {}): Promise<PrivateNatsCluster> {
    const name = `test-cluster-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    for (let attempt = 1; ; attempt++) {
      const ports = await freePorts(2 * size);
      const routePorts = ports.slice(0, size);
      const started = await Promise.allSettled(
        routePorts.map((routePort, i) =>
          PrivateNatsServer.start(
            {
              config: options.config,
              tls: options.tls,
              cluster: {
                name,
                serverName: `${name}-n${i + 1}`,
                routePort,
                peerRoutePorts: routePorts.filter((port) => port !== routePort),
              },
            },
            ports[size + i],
          ),
        ),
      );
      const servers = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
      const failure = started.find((result) => result.status === 'rejected');
      if (!failure) {
        const cluster = new PrivateNatsCluster(name, servers, options.client ?? {});
        await cluster.waitForJetStream();
        return cluster;
      }
      await Promise.all(servers.map((server) => server.dispose()));
      const reason: unknown = failure.reason;
      if (attempt === START_ATTEMPTS || !String(reason).includes(ADDRESS_IN_USE)) throw reason;
    }
  }

  /** Every server's URL, comma-separated, as NATS_URL takes them. */
  get url(): string {
    return this.servers.map((server) => server.url).join(',');
  }

  get log(): string[] {
    return this.servers.flatMap((server) => server.log);
  }

  /** Every node reloads the same new configuration (a stopped one gets it when it restarts), as `nats-server --signal reload` on each. */
  async reconfigure(config: string): Promise<void> {
    await Promise.all(this.servers.map((server) => server.reconfigure(config)));
  }

  /** The server whose cluster name is `serverName` (as `streams.info(...).cluster.leader` names it). */
  server(serverName: string): PrivateNatsServer {
    const found = this.servers.find((server) => server.serverName === serverName);
    if (!found) throw new Error(`no server ${serverName} in cluster ${this.name}`);
    return found;
  }

  /**
   * Waits until JetStream answers management requests through every running node (a meta leader is elected and each
   * node is routed to it: a client of a node still forming its routes would see its requests time out), up to
   * `timeoutMs`.
   */
  async waitForJetStream(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const server of this.servers.filter((s) => s.running)) await this.waitForJetStreamOn(server.url, deadline);
  }

  private async waitForJetStreamOn(url: string, deadline: number): Promise<void> {
    const nc = await connect({ ...this.client, servers: [url], ignoreClusterUpdates: true });
    try {
      for (;;) {
        try {
          const jsm = await jetstreamManager(nc, { timeout: 1000 });
          await jsm.getAccountInfo();
          return;
        } catch (error) {
          if (Date.now() > deadline) {
            throw new Error(`JetStream of cluster ${this.name} did not come up through ${url}`, { cause: error });
          }
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
    } finally {
      await nc.close();
    }
  }

  async dispose(): Promise<void> {
    await Promise.all(this.servers.map((server) => server.dispose()));
  }
}

/** `count` distinct ports free now (each held until all are found, so none is handed out twice). */
async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
      });
    }
    return servers.map((server) => (server.address() as AddressInfo).port);
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}
