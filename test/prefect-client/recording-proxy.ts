import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One request the Prefect client made and what our gateway answered. */
export interface Exchange {
  method: string;
  url: string;
  requestBody: string;
  status: number;
  responseBody: string;
  /** The client scenario's step that made the request (its `x-test-step` header). */
  step?: string;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection']);
const BODY_PREVIEW = 4000;

function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

function endToEndHeaders(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name.toLowerCase())));
}

function preview(body: Buffer): string {
  const text = body.toString('utf8');
  return text.length > BODY_PREVIEW ? `${text.slice(0, BODY_PREVIEW)}…(${text.length} chars)` : text;
}

function describe(exchanges: Exchange[]): string {
  return exchanges
    .map((e) => `${e.method} ${e.url} ${e.requestBody || '-'}\n  → ${e.status} ${e.responseBody}`)
    .join('\n');
}

/**
 * A loopback HTTP proxy in front of the gateway that records every exchange, so a failing client step can
 * be reported with the exact request the client sent and the exact answer it got. Websocket upgrades are
 * passed through as well, since Prefect's worker tries one before falling back to polling.
 */
export class RecordingProxy {
  readonly exchanges: Exchange[] = [];
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: http.Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<RecordingProxy> {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new RecordingProxy(server, (server.address() as AddressInfo).port);
    server.on('connection', (socket) => {
      proxy.sockets.add(socket);
      socket.on('close', () => proxy.sockets.delete(socket));
    });
    server.on('request', (req, res) => void proxy.forward(targetPort, req, res));
    server.on('upgrade', (req, socket: Socket, head: Buffer) => proxy.forwardUpgrade(targetPort, req, socket, head));
    return proxy;
  }

  get apiUrl(): string {
    return `http://127.0.0.1:${this.port}/api`;
  }

  /** Exchanges the gateway did not answer with a success (or a not-modified) status. */
  failures(): Exchange[] {
    return this.exchanges.filter((e) => e.status === 0 || e.status >= 400);
  }

  /** The exchanges since `mark` (a previous `exchanges.length`), as readable lines for a failure message. */
  describeSince(mark: number): string {
    return describe(this.exchanges.slice(mark));
  }

  /** The exchanges of one client scenario step, as readable lines for a failure message. */
  describeStep(step: string): string {
    return describe(this.exchanges.filter((e) => e.step === step));
  }

  private async forward(targetPort: number, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const requestBody = await readAll(req);
    const step = req.headers['x-test-step'];
    const exchange: Exchange = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      requestBody: preview(requestBody),
      status: 0,
      responseBody: '',
      ...(typeof step === 'string' ? { step } : {}),
    };
    this.exchanges.push(exchange);
    const upstream = http.request(
      { host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: endToEndHeaders(req.headers) },
      (answer) => {
        void readAll(answer).then((body) => {
          exchange.status = answer.statusCode ?? 0;
          exchange.responseBody = preview(body);
          res.writeHead(exchange.status, { ...endToEndHeaders(answer.headers), 'content-length': body.length });
          res.end(body);
        });
      },
    );
    upstream.on('error', (error) => {
      exchange.responseBody = `proxy could not reach the gateway: ${error.message}`;
      res.writeHead(502).end(exchange.responseBody);
    });
    upstream.end(requestBody);
  }

  private forwardUpgrade(targetPort: number, req: http.IncomingMessage, socket: Socket, head: Buffer): void {
    const exchange: Exchange = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      requestBody: '(websocket upgrade)',
      status: 0,
      responseBody: '',
    };
    this.exchanges.push(exchange);
    const upstream = http.request({
      host: '127.0.0.1',
      port: targetPort,
      method: req.method,
      path: req.url,
      headers: req.headers,
    });
    upstream.on('upgrade', (answer, upstreamSocket, upstreamHead) => {
      exchange.status = answer.statusCode ?? 101;
      const lines = [
        `HTTP/1.1 ${exchange.status} ${answer.statusMessage ?? ''}`,
        ...Object.entries(answer.headers).map(([k, v]) => `${k}: ${String(v)}`),
      ];
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (upstreamHead.length > 0) socket.write(upstreamHead);
      if (head.length > 0) upstreamSocket.write(head);
      upstreamSocket.pipe(socket).pipe(upstreamSocket);
    });
    upstream.on('response', (answer) => {
      void readAll(answer).then((body) => {
        exchange.status = answer.statusCode ?? 0;
        exchange.responseBody = preview(body);
        const headers = {
          ...endToEndHeaders(answer.headers),
          'content-length': String(body.length),
          connection: 'close',
        };
        const lines = [
          `HTTP/1.1 ${exchange.status} ${answer.statusMessage ?? ''}`,
          ...Object.entries(headers).map(([k, v]) => `${k}: ${String(v)}`),
        ];
        socket.end(Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`), body]));
      });
    });
    upstream.on('error', (error) => {
      exchange.responseBody = `proxy could not reach the gateway: ${error.message}`;
      socket.destroy();
    });
    upstream.end();
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
