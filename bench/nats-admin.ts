import { jetstreamManager } from '@nats-io/jetstream';
import { connect, NatsConnection } from '@nats-io/transport-node';

const NATS_URL = 'nats://127.0.0.1:4222';

/** The benchmark's own NATS connection: the server's version, and removal of the streams a run created. */
export class NatsAdmin {
  private constructor(private readonly connection: NatsConnection) {}

  /** The machine's nats-server unless told another (a private one, bench/nats-servers.ts). */
  static async connect(url = NATS_URL): Promise<NatsAdmin> {
    return new NatsAdmin(await connect({ servers: url, name: 'bench' }));
  }

  get serverVersion(): string {
    return this.connection.info?.version ?? 'unknown';
  }

  /** Deletes every stream holding subjects of `namespace` (the apps create one per pool). */
  async deleteStreams(namespace: string): Promise<number> {
    const jsm = await jetstreamManager(this.connection);
    const names: string[] = [];
    for await (const name of jsm.streams.names(`${namespace}.>`)) names.push(name);
    for (const name of names) await jsm.streams.delete(name);
    return names.length;
  }

  /** How many streams hold subjects matching `subject`. */
  async countStreams(subject: string): Promise<number> {
    const jsm = await jetstreamManager(this.connection);
    let count = 0;
    for await (const name of jsm.streams.names(subject)) if (name) count++;
    return count;
  }

  /** What run creation through the API sends after its commit: the dispatcher of `namespace` looks for due runs now. */
  wakeDispatcher(namespace: string): void {
    this.connection.publish(`${namespace}.dispatch.wake`, JSON.stringify({ work_pool_id: null }));
  }

  async close(): Promise<void> {
    await this.connection.close();
  }
}
