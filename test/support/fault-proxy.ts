import { createServer, Server, Socket, connect } from 'node:net';

/**
 * Decides, chunk by chunk, which client-to-server bytes reach the server now (stateful per connection). `upstream`
 * lets it send bytes it kept back later.
 */
export type UpstreamFilter = (upstream: { write(bytes: Buffer): void }) => (chunk: Buffer) => Buffer;

/**
 * A TCP proxy that can fail on command, so a test can open a fault window from outside a process without any hook
 * in production code: hold everything the server sends (the client then waits forever for replies: PubAcks, HTTP
 * responses), or drop chosen client frames (see {@link dropNatsPublishes}).
 */
export class FaultProxy {
  private holding = false;
  private cutOff = false;
  private readonly held = new Map<Socket, Buffer[]>();
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static start(target: { host: string; port: number }, upstreamFilter?: UpstreamFilter): Promise<FaultProxy> {
    return new Promise((resolve, reject) => {
      let proxy: FaultProxy;
      const server = createServer((client) => {
        if (proxy.cutOff) {
          client.destroy();
          return;
        }
        const upstream = connect(target.port, target.host);
        const filter = upstreamFilter?.(upstream);
        proxy.sockets.add(client).add(upstream);
        client.on('data', (chunk) => {
          const forwarded = filter ? filter(chunk) : chunk;
          if (forwarded.length > 0) upstream.write(forwarded);
        });
        upstream.on('data', (chunk) => {
          if (proxy.holding) proxy.held.set(client, [...(proxy.held.get(client) ?? []), chunk]);
          else client.write(chunk);
        });
        const close = () => {
          client.destroy();
          upstream.destroy();
          proxy.sockets.delete(client);
          proxy.sockets.delete(upstream);
          proxy.held.delete(client);
        };
        client.on('close', close).on('error', close);
        upstream.on('close', close).on('error', close);
      });
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        proxy = new FaultProxy(server, typeof address === 'object' && address ? address.port : 0);
        resolve(proxy);
      });
    });
  }

  /** From now on, the server's bytes are kept back from every client. */
  holdDownstream(): void {
    this.holding = true;
  }

  /** Delivers what was kept back and forwards again. */
  releaseDownstream(): void {
    this.holding = false;
    for (const [client, chunks] of this.held) chunks.forEach((chunk) => client.write(chunk));
    this.held.clear();
  }

  /** The server is gone, as far as clients can tell: open connections drop, new ones are closed at once. */
  cut(): void {
    this.cutOff = true;
    this.sockets.forEach((socket) => socket.destroy());
  }

  /** Connections reach the server again. */
  restore(): void {
    this.cutOff = false;
  }

  close(): Promise<void> {
    this.sockets.forEach((socket) => socket.destroy());
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const CRLF = Buffer.from('\r\n');

export type FrameVerdict = 'pass' | 'drop' | 'hold';

/**
 * A NATS client-protocol filter: each `PUB`/`HPUB` frame is passed, silently dropped, or held back until
 * {@link release} (everything else passes byte for byte). Dropping `$JS.ACK.` publications makes a process's acks
 * vanish as if it had died before sending them; holding a JetStream API request makes that request arrive late.
 */
export class NatsPublishFilter {
  dropped = 0;
  private held: { upstream: { write(bytes: Buffer): void }; frame: Buffer }[] = [];

  constructor(private readonly verdict: (subject: string) => FrameVerdict) {}

  get heldCount(): number {
    return this.held.length;
  }

  /** Sends every held frame on, in the order they were held. */
  release(): void {
    const held = this.held;
    this.held = [];
    held.forEach(({ upstream, frame }) => upstream.write(frame));
  }

  readonly filter: UpstreamFilter = (upstream) => {
    let pending = Buffer.alloc(0);
    return (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      const out: Buffer[] = [];
      for (;;) {
        const lineEnd = pending.indexOf(CRLF);
        if (lineEnd < 0) break;
        const [op, ...args] = pending.subarray(0, lineEnd).toString().split(' ').filter(Boolean);
        const isPublish = op?.toUpperCase() === 'PUB' || op?.toUpperCase() === 'HPUB';
        const frameLength = lineEnd + 2 + (isPublish ? Number(args[args.length - 1]) + 2 : 0);
        if (pending.length < frameLength) break;
        const frame = Buffer.from(pending.subarray(0, frameLength));
        pending = pending.subarray(frameLength);
        const verdict = isPublish ? this.verdict(args[0]) : 'pass';
        if (verdict === 'pass') out.push(frame);
        else if (verdict === 'drop') this.dropped++;
        else this.held.push({ upstream, frame });
      }
      return Buffer.concat(out);
    };
  };
}
