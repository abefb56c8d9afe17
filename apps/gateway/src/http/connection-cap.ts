import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';

/**
 * What a connection is doing: nothing yet (no request's headers complete, or upgraded to a websocket that has
 * not finished its handshake), on a request, or settled (an authenticated websocket).
 */
type ConnectionState = 'new' | IncomingMessage | 'settled';

const isReceiving = (state: ConnectionState): boolean => state === 'new' || (state !== 'settled' && !state.complete);

/**
 * Keeps at most `max` connections open, so that clients cannot use up the process's file descriptors. At the cap
 * a new connection evicts the oldest one still sending its request: a real request arrives within milliseconds, so
 * that is a slow or silent client, and a flood of them cannot lock everyone else out until the timeouts cut them.
 * Connections being answered, idle between requests, or settled websockets are never evicted; when all are, the
 * new connection is closed instead.
 */
export class ConnectionCap {
  /** In the order the connections opened, so the first receiving one has been at it longest. */
  private readonly open = new Map<Socket, ConnectionState>();

  constructor(
    server: Server,
    private readonly max: number,
  ) {
    server.on('connection', (socket: Socket) => this.admit(socket));
    server.on('request', (request: IncomingMessage) => {
      if (this.open.has(request.socket)) this.open.set(request.socket, request);
    });
  }

  /** A websocket that finished its handshake is a settled client, no longer a candidate for eviction. */
  settle(socket: Socket): void {
    if (this.open.has(socket)) this.open.set(socket, 'settled');
  }

  private admit(socket: Socket): void {
    if (this.open.size >= this.max) {
      const stalled = this.oldestReceiving();
      if (stalled === undefined) {
        socket.destroy();
        return;
      }
      this.open.delete(stalled);
      stalled.destroy();
    }
    this.open.set(socket, 'new');
    socket.once('close', () => this.open.delete(socket));
  }

  private oldestReceiving(): Socket | undefined {
    for (const [socket, state] of this.open) if (isReceiving(state)) return socket;
    return undefined;
  }
}
