import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './processes';

const NATS_SERVER = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';

/** A nats-server with JetStream of a test's own, which the test may stop, restart and wipe at will. */
export class PrivateNatsServer {
  private child?: ChildProcess;
  private readonly storeDirs: string[] = [];

  private constructor(
    readonly port: number,
    private storeDir: string,
  ) {
    this.storeDirs.push(storeDir);
  }

  static async start(): Promise<PrivateNatsServer> {
    const server = new PrivateNatsServer(await freePort(), PrivateNatsServer.newStoreDir());
    await server.spawn();
    return server;
  }

  private static newStoreDir(): string {
    return mkdtempSync(path.join(tmpdir(), 'nats-store-'));
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  private spawn(): Promise<void> {
    const child = spawn(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.storeDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    return new Promise((resolve, reject) => {
      const output: string[] = [];
      const timer = setTimeout(() => reject(new Error(`nats-server did not become ready:\n${output.join('')}`)), 10_000);
      const onData = (chunk: Buffer) => {
        output.push(chunk.toString());
        if (output.join('').includes('Server is ready')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`nats-server exited with ${code}:\n${output.join('')}`));
      });
    });
  }

  /** Stops the server the way an orchestrator would (SIGTERM) and waits for it to exit. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
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
