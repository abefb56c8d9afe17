import { ServerNats } from '@nestjs/microservices';
import { ConnectionOptions, headers, Msg, NatsConnection, nuid } from '@nats-io/transport-node';

/** What a request handler answers: the HTTP-equivalent status and the JSON body. */
export interface RpcReply {
  status: number;
  body: unknown;
}

/** Header carrying an {@link RpcReply}'s status, so NATS clients read the same codes as HTTP ones. */
export const STATUS_HEADER = 'Prefect-Status';

/**
 * Nest's NATS transport for plain NATS clients: handler patterns live under the namespace (pattern
 * `api.flow-runs.claim.*` answers `<namespace>.api.flow-runs.claim.<pool id>`), requests are bare JSON and replies are the
 * bare JSON body with its status in a header, rather than Nest's own packet envelope. Subscriptions use a queue
 * group, so several gateways share the requests.
 */
export class NamespacedNatsServer extends ServerNats {
  private readonly queue: string;

  constructor(
    private readonly namespace: string,
    options: ConnectionOptions & { name: string; queue: string },
  ) {
    super({
      ...options,
      deserializer: {
        deserialize: (message: Msg, context?: { channel?: string; replyTo?: string }) => ({
          pattern: context?.channel,
          data: parseJson(message),
          id: context?.replyTo ? nuid.next() : undefined,
        }),
      },
      serializer: {
        serialize: (packet: { response?: RpcReply; err?: unknown }) => {
          const reply: RpcReply = packet.response ?? {
            status: 500,
            body: { exception_message: 'Internal Server Error' },
          };
          const replyHeaders = headers();
          replyHeaders.set(STATUS_HEADER, String(reply.status));
          return { data: JSON.stringify(reply.body), headers: replyHeaders };
        },
      },
    });
    this.queue = options.queue;
  }

  /** Closing the connection (on shutdown) ends these subscriptions. */
  override bindEvents(client: NatsConnection): void {
    for (const channel of this.messageHandlers.keys()) {
      const handle = this.getMessageHandler(channel) as (error: Error | null, message: Msg) => Promise<unknown>;
      client.subscribe(`${this.namespace}.${channel}`, {
        queue: this.queue,
        callback: (error, message) => void handle.call(this, error, message),
      });
    }
  }
}

function parseJson(message: Msg): unknown {
  try {
    return message.json();
  } catch {
    return undefined;
  }
}
