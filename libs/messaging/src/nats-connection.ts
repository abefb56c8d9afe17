import { AppConfig, natsRequiresTls } from '@app/config';
import { natsNames, NatsNames, Subject } from '@app/contracts';
import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { connect, ConnectionOptions, credsAuthenticator, NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { readFileSync } from 'node:fs';
import { decodeBody, outgoing, OutgoingMessage, UnreadBody } from './message-body';

const RECONNECT_WAIT_MS = 500;
const PING_INTERVAL_MS = 10_000;

/**
 * Servers, reconnection, credentials and TLS for a nats.js connection, shared by every connection the system opens (the apps'
 * clients, the gateway's request transport, the example worker), so none of them can connect differently.
 */
export function natsConnectionOptions(settings: AppConfig['nats']): ConnectionOptions {
  const creds = settings.creds;
  return {
    // Each is tried in turn (shuffled, so a fleet spreads over a cluster); a connection lost to one server moves to
    // another, and to the servers the cluster announces.
    servers: settings.url.split(','),
    // Never give up: nats.js would close the connection for good after 10 failed attempts per server (about 20 s of
    // outage), and the claim transport or a worker would then stay deaf after NATS came back.
    maxReconnectAttempts: -1,
    reconnectTimeWait: RECONNECT_WAIT_MS,
    // A server that vanished without closing its sockets (a partition, a lost host) is noticed within two pings,
    // not nats.js's default four minutes.
    pingInterval: PING_INTERVAL_MS,
    maxPingOut: 2,
    // Otherwise every request (each JetStream publish, pull and lookup) builds two Errors up front, stack traces and
    // all, in case it fails: about 2 % of the scheduler's busy time while dispatching. Our errors say what failed.
    noAsyncTraces: true,
    // Read on every (re)connection, so a rotated creds file is picked up without a restart.
    ...(creds !== undefined && { authenticator: credsAuthenticator(() => readFileSync(creds)) }),
    ...(settings.token !== undefined && { token: settings.token }),
    ...(settings.user !== undefined && { user: settings.user, pass: settings.password }),
    // An options object makes TLS required: without one, nats.js would fall back to plain text on a server without TLS.
    ...(natsRequiresTls(settings.url) && {
      tls: {
        ...(settings.tlsCa !== undefined && { caFile: settings.tlsCa }),
        ...(settings.tlsCert !== undefined && {
          certFile: settings.tlsCert,
          keyFile: settings.tlsKey,
        }),
      },
    }),
  };
}

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
      ...natsConnectionOptions(config.nats),
      name,
    });
    const client = new NatsClient(connection, natsNames(config.nats.namespace));
    client.watchStatus();
    return client;
  }

  /** Publishes on core NATS (fire and forget), the body written as its subject carries it. */
  publish<Payload>(subject: Subject<Payload>, payload: NoInfer<Payload>): void {
    this.send(outgoing(subject, payload));
  }

  /** Publishes a message written earlier (one kept while NATS could not take it). */
  send(message: OutgoingMessage): void {
    this.connection.publish(message.subject, message.body);
  }

  /**
   * Subscribes to a subject, or to a wildcard over subjects of one payload type; the handler gets the body read and
   * the subject it came on. A body that cannot be read (not ours) is dropped with a warning.
   */
  subscribe<Payload>(subject: Subject<Payload>, handler: (payload: Payload, subject: string) => void): void {
    this.connection.subscribe(subject, {
      callback: (error, message) => {
        if (error) return;
        let payload: Payload;
        try {
          payload = decodeBody(message.data) as Payload;
        } catch {
          this.logger.warn(`dropped a message on ${message.subject}: its body is not JSON`);
          return;
        }
        handler(payload, message.subject);
      },
    });
  }

  /** `subscribe`, the body handed over unread: the handler reads it only if it needs it. */
  subscribeUnread<Payload>(
    subject: Subject<Payload>,
    handler: (body: UnreadBody<Payload>, subject: string) => void,
  ): void {
    this.connection.subscribe(subject, {
      callback: (error, message) => {
        if (!error) handler(new UnreadBody<Payload>(message.data), message.subject);
      },
    });
  }

  private readonly reconnectListeners: (() => void)[] = [];
  private up = true;
  /** Reconnections since start, for metrics. */
  reconnects = 0;

  /**
   * Resolves once the server answers a round trip and the JetStream API answers an account-info request, each
   * within `timeoutMs`; rejects naming the part that did not (`nats` or `jetstream`) otherwise.
   */
  async check(timeoutMs: number): Promise<void> {
    if (!this.isConnected) throw new NatsCheckError('nats', 'not connected');
    await withTimeout(this.connection.flush(), timeoutMs).catch((error: unknown) => {
      throw new NatsCheckError('nats', String(error));
    });
    await withTimeout(
      jetstreamManager(this.connection, { timeout: timeoutMs }).then((jsm) => jsm.getAccountInfo()),
      timeoutMs,
    ).catch((error: unknown) => {
      throw new NatsCheckError('jetstream', String(error));
    });
  }

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
          this.reconnects++;
          this.reconnectListeners.forEach((listener) => listener());
        }
      }
    })();
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.connection.isClosed()) await this.connection.drain();
  }
}

/** A failed {@link NatsClient.check}: which part did not answer. */
export class NatsCheckError extends Error {
  constructor(
    readonly part: 'nats' | 'jetstream',
    reason: string,
  ) {
    super(reason);
  }
}

function withTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
