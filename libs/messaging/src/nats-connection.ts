import { AppConfig } from '@app/config';
import { natsNames, NatsNames } from '@app/contracts';
import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { connect, NatsConnection } from '@nats-io/transport-node';

/**
 * The process's one NATS connection. Opened before the app serves (so a missing server stops boot with a clear
 * error) and drained on shutdown, so in-flight publishes and acks are flushed before the process exits.
 */
@Injectable()
export class NatsClient implements OnApplicationShutdown {
  private readonly logger = new Logger(NatsClient.name);

  private constructor(
    readonly connection: NatsConnection,
    readonly names: NatsNames,
  ) {}

  static async connect(config: AppConfig, name: string): Promise<NatsClient> {
    const connection = await connect({
      servers: config.NATS_URL.split(','),
      name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
    });
    const client = new NatsClient(connection, natsNames(config.NATS_NAMESPACE));
    client.watchStatus();
    return client;
  }

  private readonly reconnectListeners: (() => void)[] = [];
  private up = true;

  /**
   * False from a lost connection until it is back: the client then queues what it sends and drops that queue on
   * every reconnection attempt, so a caller that needs an answer now should not wait for one.
   */
  get isConnected(): boolean {
    return this.up && !this.connection.isClosed();
  }

  /** Called after every reconnection (the server may have restarted, possibly without its JetStream store). */
  onReconnect(listener: () => void): void {
    this.reconnectListeners.push(listener);
  }

  private watchStatus(): void {
    void (async () => {
      for await (const status of this.connection.status()) {
        if (status.type === 'disconnect' || status.type === 'reconnect' || status.type === 'error') {
          this.logger.warn(`nats ${status.type}`);
        }
        if (status.type === 'disconnect') this.up = false;
        if (status.type === 'reconnect') {
          this.up = true;
          this.reconnectListeners.forEach((listener) => listener());
        }
      }
    })();
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.connection.isClosed()) await this.connection.drain();
  }
}
