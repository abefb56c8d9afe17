import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';

/** What a connection is doing: waiting for its first request's headers, on a request, or upgraded (a websocket). */
type ConnectionState = 'new' | IncomingMessage | 'upgraded';

const isReceiving = (state: ConnectionState): boolean => state === 'new' || (state !== 'upgraded' && !state.complete);

/**
 * Keeps at most `max` connections open, so that clients cannot use up the process's file descriptors. At the cap
 * a new connection evicts the oldest one still sending its request: a real request arrives within milliseconds, so
 * that is a slow or silent client, and a flood of them cannot lock everyone else out until the timeouts cut them.
 * Connections being answered, idle between requests, or upgraded are never evicted; when all are, the new
 * connection is closed instead.
 */
export function capConnections(server: Server, max: number): void {
  // In the order the connections opened, so the first receiving one has been at it longest.
  const open = new Map<Socket, ConnectionState>();
  server.on('connection', (socket: Socket) => {
    if (open.size >= max) {
      const stalled = oldestReceiving(open);
      if (stalled === undefined) {
        socket.destroy();
        return;
      }
      open.delete(stalled);
      stalled.destroy();
    }
    open.set(socket, 'new');
    socket.once('close', () => open.delete(socket));
  });
  server.on('request', (request: IncomingMessage) => {
    if (open.has(request.socket)) open.set(request.socket, request);
  });
  // A listener changes how Node treats upgrade requests; harmless beside @fastify/websocket's own (`serveEventsIn`).
  server.on('upgrade', (request: IncomingMessage) => {
    if (open.has(request.socket)) open.set(request.socket, 'upgraded');
  });
}

function oldestReceiving(open: Map<Socket, ConnectionState>): Socket | undefined {
  for (const [socket, state] of open) if (isReceiving(state)) return socket;
  return undefined;
}
