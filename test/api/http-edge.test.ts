// What every request meets before a route, over real sockets: Prefect's basic auth (API_AUTH_STRING), CORS as
// Prefect's Starlette middleware answers it, security headers, the body limit, and the timeouts and connection
// cap that keep slow clients from exhausting the gateway.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { sleep } from '../support/delivery';
import { TestGateway } from '../support/gateway';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/** One request over a fresh connection; `error` instead of an answer if the connection failed (reset, refused). */
function send(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string | Buffer,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const framing = body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) };
    const request = http.request(
      { host: '127.0.0.1', port, method, path, headers: { ...framing, ...headers }, agent: false },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            text: Buffer.concat(chunks).toString(),
          }),
        );
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

const json = (answer: Answer): unknown => JSON.parse(answer.text);
const basic = (credentials: string): string => `Basic ${Buffer.from(credentials).toString('base64')}`;

async function listen(overrides: Record<string, string>): Promise<{ gw: TestGateway; port: number }> {
  const gw = await TestGateway.start(overrides);
  await gw.app.listen(0, '127.0.0.1');
  return { gw, port: (gw.app.getHttpServer().address() as AddressInfo).port };
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
};

describe('authentication (API_AUTH_STRING)', () => {
  const AUTH = 'admin:pass word:with colon';
  let gw: TestGateway;
  let port: number;
  const withAuth = { authorization: basic(AUTH) };

  beforeAll(async () => {
    ({ gw, port } = await listen({ API_AUTH_STRING: AUTH }));
  });
  afterAll(() => gw?.stop());

  it.each([
    ['GET', '/api/work_pools/any'],
    ['POST', '/api/work_pools/filter'],
    ['DELETE', '/api/work_pools/any'],
    ['PATCH', '/api/work_pools/any'],
    ['POST', '/api/work_pools/any/get_scheduled_flow_runs'],
    ['GET', '/api/no-such-route'],
    ['GET', '/elsewhere'],
    ['GET', '/api/version'],
    ['HEAD', '/api/health'],
    ['GET', '/api/health/extra'],
  ])("refuses %s %s without credentials: 401 in Prefect's shape", async (method, path) => {
    const answer = await send(
      port,
      method,
      path,
      { 'content-type': 'application/json' },
      method === 'GET' || method === 'HEAD' ? undefined : '{}',
    );
    expect(answer.status).toBe(401);
    if (method !== 'HEAD') expect(json(answer)).toEqual({ exception_message: 'Unauthorized' });
  });

  it.each([
    ['a wrong password', basic('admin:wrong')],
    ['a prefix of the credentials', basic('admin:pass')],
    ['the credentials plus more', basic(`${AUTH}x`)],
    ['the credentials unencoded', `Basic ${AUTH}`],
    ['another scheme', `Bearer ${Buffer.from(AUTH).toString('base64')}`],
    ['the scheme in lower case', `basic ${Buffer.from(AUTH).toString('base64')}`],
    ['the scheme alone', 'Basic'],
    ['an extra part', `${basic(AUTH)} extra`],
    ['an empty header', ''],
  ])('refuses %s', async (_case, authorization) => {
    const answer = await send(
      port,
      'POST',
      '/api/work_pools/filter',
      { authorization, 'content-type': 'application/json' },
      '{}',
    );
    expect({ status: answer.status, body: json(answer) }).toEqual({
      status: 401,
      body: { exception_message: 'Unauthorized' },
    });
  });

  it('lets the right credentials through to every route, the 404 included', async () => {
    const name = `auth-${randomUUID().slice(0, 8)}`;
    const created = await send(
      port,
      'POST',
      '/api/work_pools/',
      { ...withAuth, 'content-type': 'application/json' },
      JSON.stringify({ name, type: 'process' }),
    );
    expect(created.status).toBe(201);
    expect((await send(port, 'GET', `/api/work_pools/${name}`, withAuth)).status).toBe(200);
    // Extra whitespace between the scheme and the credentials is accepted, as Python's `str.split()` does.
    expect(
      (
        await send(port, 'GET', `/api/work_pools/${name}`, {
          authorization: `  Basic   ${Buffer.from(AUTH).toString('base64')} `,
        })
      ).status,
    ).toBe(200);
    const polled = await send(
      port,
      'POST',
      `/api/work_pools/${name}/get_scheduled_flow_runs`,
      { ...withAuth, 'content-type': 'application/json' },
      '{}',
    );
    expect({ status: polled.status, body: json(polled) }).toEqual({ status: 200, body: [] });
    expect((await send(port, 'DELETE', `/api/work_pools/${name}`, withAuth)).status).toBe(204);
    const missing = await send(port, 'GET', '/api/no-such-route', withAuth);
    expect({ status: missing.status, body: json(missing) }).toEqual({ status: 404, body: { detail: 'Not Found' } });
  });

  it('leaves GET /api/health open for probes, as Prefect does', async () => {
    const answer = await send(port, 'GET', '/api/health');
    expect({ status: answer.status, text: answer.text }).toEqual({ status: 200, text: 'true' });
    expect((await send(port, 'GET', '/api/health?probe=1')).status).toBe(200);
  });

  it("answers a CORS preflight without credentials, as Prefect's outer CORS middleware does", async () => {
    const answer = await send(port, 'OPTIONS', '/api/work_pools/filter', {
      origin: 'https://ui.example',
      'access-control-request-method': 'POST',
    });
    expect(answer.status).toBe(200);
    expect(answer.headers['access-control-allow-origin']).toBe('*');
  });

  describe('the events websocket', () => {
    const url = () => `ws://127.0.0.1:${port}/api/events/in`;

    /** Opens the socket with the `prefect` subprotocol, sends the auth message, and returns the answer or the close. */
    async function handshake(message: unknown): Promise<unknown> {
      const socket = new WebSocket(url(), ['prefect']);
      await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
      const outcome = new Promise((resolve) => {
        socket.once('message', (data: Buffer) => resolve(JSON.parse(data.toString())));
        socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() }));
      });
      socket.send(JSON.stringify(message));
      const result = await outcome;
      socket.terminate();
      return result;
    }

    it('accepts the auth string as the auth message token, without credentials on the upgrade', async () => {
      expect(await handshake({ type: 'auth', token: AUTH })).toEqual({ type: 'auth_success' });
    });

    it.each([
      [{ type: 'auth', token: 'admin:wrong' }, 'Invalid token'],
      [{ type: 'auth', token: basic(AUTH).slice(6) }, 'Invalid token'],
      [{ type: 'auth', token: 42 }, 'Invalid token'],
      [{ type: 'auth', token: null }, 'Auth required but no token provided'],
      [{ type: 'auth' }, 'Auth required but no token provided'],
      [{ type: 'events' }, "Expected 'auth' message"],
    ])("refuses %j with 1008 and Prefect's reason", async (message, reason) => {
      expect(await handshake(message)).toEqual({ code: 1008, reason });
    });

    it('refuses a client without the prefect subprotocol (no auth handshake possible) with 403', async () => {
      const socket = new WebSocket(url());
      socket.on('error', () => undefined);
      const status = await new Promise((resolve) => {
        socket.once('unexpected-response', (_request, response: http.IncomingMessage) => resolve(response.statusCode));
        socket.once('open', () => resolve('open'));
      });
      socket.terminate();
      expect(status).toBe(403);
    });
  });
});

describe('CORS and security headers', () => {
  let gw: TestGateway;
  let port: number;

  beforeAll(async () => {
    ({ gw, port } = await listen({}));
  });
  afterAll(() => gw?.stop());

  it("answers a preflight as Prefect's defaults do (every origin, method and header)", async () => {
    const answer = await send(port, 'OPTIONS', '/api/work_pools/filter', {
      origin: 'https://ui.example',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type, x-prefect-api-version',
    });
    expect({ status: answer.status, text: answer.text }).toEqual({ status: 200, text: 'OK' });
    expect(answer.headers).toMatchObject({
      'access-control-allow-origin': '*',
      'access-control-allow-methods': 'DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT, QUERY',
      'access-control-allow-headers': 'content-type, x-prefect-api-version',
      'access-control-max-age': '600',
    });
  });

  it('names the allowed origin on ordinary responses, errors included', async () => {
    for (const [method, path] of [
      ['GET', '/api/health'],
      ['GET', '/api/work_pools/missing'],
      ['GET', '/api/nope'],
    ]) {
      const answer = await send(port, method, path, { origin: 'https://ui.example' });
      expect(answer.headers['access-control-allow-origin']).toBe('*');
      expect(answer.headers.vary).toContain('Origin');
    }
  });

  it('sends the security headers on every response', async () => {
    const answers = [
      await send(port, 'GET', '/api/health'),
      await send(port, 'GET', '/api/nope'),
      await send(port, 'POST', '/api/work_pools/filter', { 'content-type': 'application/json' }, '{not json'),
      await send(port, 'OPTIONS', '/api/health', {
        origin: 'https://ui.example',
        'access-control-request-method': 'GET',
      }),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([200, 404, 422, 200]);
    for (const answer of answers) expect(answer.headers).toMatchObject(SECURITY_HEADERS);
  });

  describe('with CORS_ALLOWED_ORIGINS, _METHODS and _HEADERS set', () => {
    let limited: TestGateway;
    let limitedPort: number;

    beforeAll(async () => {
      ({ gw: limited, port: limitedPort } = await listen({
        CORS_ALLOWED_ORIGINS: 'https://ui.example,https://ops.example',
        CORS_ALLOWED_METHODS: 'GET,POST',
        CORS_ALLOWED_HEADERS: 'x-prefect-api-version',
      }));
    });
    afterAll(() => limited?.stop());

    it('echoes an allowed origin and refuses the others in preflights, naming what failed', async () => {
      const allowed = await send(limitedPort, 'OPTIONS', '/api/work_pools/filter', {
        origin: 'https://ops.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'X-Prefect-Api-Version, Content-Type',
      });
      expect(allowed.status).toBe(200);
      expect(allowed.headers).toMatchObject({
        'access-control-allow-origin': 'https://ops.example',
        'access-control-allow-methods': 'GET, POST',
        'access-control-allow-headers':
          'Accept, Accept-Language, Content-Language, Content-Type, x-prefect-api-version',
      });
      const refused = await send(limitedPort, 'OPTIONS', '/api/work_pools/filter', {
        origin: 'https://evil.example',
        'access-control-request-method': 'DELETE',
        'access-control-request-headers': 'authorization',
      });
      expect({ status: refused.status, text: refused.text }).toEqual({
        status: 400,
        text: 'Disallowed CORS origin, method, headers',
      });
      expect(refused.headers['access-control-allow-origin']).toBeUndefined();
    });

    it('names only an allowed origin on ordinary responses', async () => {
      expect(
        (await send(limitedPort, 'GET', '/api/health', { origin: 'https://ui.example' })).headers[
          'access-control-allow-origin'
        ],
      ).toBe('https://ui.example');
      expect(
        (await send(limitedPort, 'GET', '/api/health', { origin: 'https://evil.example' })).headers[
          'access-control-allow-origin'
        ],
      ).toBeUndefined();
    });
  });
});

describe('request bodies', () => {
  let gw: TestGateway;
  let port: number;

  beforeAll(async () => {
    ({ gw, port } = await listen({}));
  });
  afterAll(() => gw?.stop());

  it("takes a Prefect client's largest log batch (about 3.5 MB here)", async () => {
    const flowRunId = randomUUID();
    // 3 logs of ~1 MB (the client's largest single log) and small ones, as one batch of the Prefect client.
    const logs = [
      ...Array.from({ length: 3 }, (_, i) => ({
        name: 'prefect.flow_runs',
        level: 20,
        message: `${i}`.padEnd(999_000, 'x'),
        timestamp: new Date().toISOString(),
        flow_run_id: flowRunId,
      })),
      ...Array.from({ length: 2000 }, (_, i) => ({
        name: 'prefect.flow_runs',
        level: 20,
        message: `line ${i} `.padEnd(200, '.'),
        timestamp: new Date().toISOString(),
        flow_run_id: flowRunId,
      })),
    ];
    const body = JSON.stringify(logs);
    expect(body.length).toBeGreaterThan(3_400_000);
    const answer = await send(port, 'POST', '/api/logs/', { 'content-type': 'application/json' }, body);
    expect(answer.status).toBe(201);
    const stored = await send(
      port,
      'POST',
      '/api/logs/filter',
      { 'content-type': 'application/json' },
      JSON.stringify({ logs: { flow_run_id: { any_: [flowRunId] } }, limit: 1 }),
    );
    expect(json(stored)).toEqual([expect.objectContaining({ flow_run_id: flowRunId })]);
  });

  it('answers a body over HTTP_BODY_LIMIT_BYTES (8 MiB) with 413 in the {"detail"} shape, not a reset', async () => {
    const body = Buffer.alloc(9 * 1024 * 1024, 'x');
    const answer = await send(port, 'POST', '/api/logs/', { 'content-type': 'application/json' }, body);
    expect(answer.status).toBe(413);
    expect(json(answer)).toEqual({ detail: expect.any(String) });
  });
});

/** A client that opened a request and sends it one byte at a time, and what became of its connection. */
class SlowClient {
  readonly opened = Date.now();
  closedAfterMs: number | null = null;
  received = '';
  private readonly socket: Socket;
  private readonly timer: NodeJS.Timeout | undefined;

  /** `drip` empty: the client sends nothing after `head`. */
  constructor(port: number, head: string, drip: string, intervalMs: number) {
    const socket = connect(port, '127.0.0.1');
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => (this.received += chunk.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closedAfterMs = Date.now() - this.opened;
      clearInterval(this.timer);
    });
    socket.write(head);
    this.timer = drip === '' ? undefined : setInterval(() => socket.write(drip), intervalMs);
  }

  destroy(): void {
    clearInterval(this.timer);
    this.socket.destroy();
  }
}

describe('slow clients (HTTP_HEADERS_TIMEOUT_SECONDS, HTTP_REQUEST_TIMEOUT_SECONDS, HTTP_KEEP_ALIVE_TIMEOUT_SECONDS, HTTP_MAX_CONNECTIONS)', () => {
  const CAP = 100;
  let gw: TestGateway;
  let port: number;
  const clients: SlowClient[] = [];

  const slowBody = (): SlowClient =>
    new SlowClient(
      port,
      'POST /api/logs/ HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n[',
      ' ',
      250,
    );
  const slowHeaders = (): SlowClient =>
    new SlowClient(port, 'GET /api/health HTTP/1.1\r\nHost: gateway\r\n', 'X-Drip: 1\r\n', 250);

  beforeAll(async () => {
    ({ gw, port } = await listen({
      HTTP_MAX_CONNECTIONS: String(CAP),
      HTTP_HEADERS_TIMEOUT_SECONDS: '1',
      HTTP_REQUEST_TIMEOUT_SECONDS: '2',
      HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: '1',
    }));
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.destroy();
  });
  afterAll(() => gw?.stop());

  it('answers normal requests while slow and idle clients hold connections, and cuts those off at the timeouts', async () => {
    const bodies = Array.from({ length: 30 }, slowBody);
    const headers = Array.from({ length: 30 }, slowHeaders);
    const silent = Array.from({ length: 10 }, () => new SlowClient(port, '', '', 250));
    const idle = Array.from(
      { length: 10 },
      () => new SlowClient(port, 'GET /api/health HTTP/1.1\r\nHost: gateway\r\n\r\n', '', 250),
    );
    clients.push(...bodies, ...headers, ...silent, ...idle);
    await sleep(300);
    const during = await send(port, 'GET', '/api/health');
    expect(during.status).toBe(200);
    await sleep(4000);
    const closedWithin = (group: SlowClient[], fromMs: number, toMs: number): boolean =>
      group.every(
        (client) => client.closedAfterMs !== null && client.closedAfterMs >= fromMs && client.closedAfterMs < toMs,
      );
    // Node checks its timeouts every second (CONNECTIONS_CHECK_INTERVAL_MS): each closed within its timeout + 1 s + slack.
    expect(closedWithin(headers, 900, 2700)).toBe(true);
    expect(closedWithin(silent, 900, 2700)).toBe(true);
    expect(closedWithin(bodies, 1900, 3700)).toBe(true);
    expect([...bodies, ...headers, ...silent].every((client) => client.received.startsWith('HTTP/1.1 408'))).toBe(true);
    // An answered client that keeps its connection idle is closed after the keep-alive timeout.
    expect(closedWithin(idle, 900, 3000)).toBe(true);
    expect(idle.every((client) => client.received.startsWith('HTTP/1.1 200'))).toBe(true);
  });

  it('at the cap, evicts the slow connections that have waited longest, so normal requests are still answered', async () => {
    clients.push(...Array.from({ length: CAP + 50 }, slowBody));
    await sleep(500);
    const server: http.Server = gw.app.getHttpServer();
    const openConnections = () =>
      new Promise<number>((resolve, reject) =>
        server.getConnections((error, count) => (error ? reject(error) : resolve(count))),
      );
    expect(await openConnections()).toBeLessThanOrEqual(CAP);
    const evicted = clients.filter((client) => client.closedAfterMs !== null);
    expect(evicted.length).toBeGreaterThanOrEqual(50);
    expect(evicted.every((client) => client.received === '')).toBe(true);
    // With every slot held by a slow client, each new request evicts the oldest and is answered at once.
    const latencies: number[] = [];
    for (let i = 0; i < 20; i++) {
      const started = Date.now();
      const answer = await send(port, 'GET', '/api/health');
      expect(answer.status).toBe(200);
      latencies.push(Date.now() - started);
    }
    // The first took the slot of one more slow client (each request's connection closes after it, freeing its slot).
    expect(clients.filter((client) => client.closedAfterMs !== null).length).toBeGreaterThan(evicted.length);
    expect(Math.max(...latencies)).toBeLessThan(1000);
    process.stdout.write(
      `slow clients: ${evicted.length} of ${CAP + 50} evicted at the cap; 20 requests at the cap answered in at most ${Math.max(...latencies)} ms\n`,
    );
  });

  it('at the cap, evicts an events websocket that has not authenticated, never one that has', async () => {
    const url = `ws://127.0.0.1:${port}/api/events/in`;
    const openSocket = async (): Promise<{ socket: WebSocket; closed: () => boolean }> => {
      const socket = new WebSocket(url, ['prefect']);
      let closed = false;
      socket.on('close', () => (closed = true));
      socket.on('error', () => undefined);
      await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
      return { socket, closed: () => closed };
    };
    const authenticated = await openSocket();
    const answer = new Promise((resolve) =>
      authenticated.socket.once('message', (data: Buffer) => resolve(JSON.parse(data.toString()))),
    );
    authenticated.socket.send(JSON.stringify({ type: 'auth', token: null }));
    expect(await answer).toEqual({ type: 'auth_success' });
    const silent = await openSocket();
    clients.push(...Array.from({ length: CAP }, slowBody));
    await sleep(1000);
    expect({ silent: silent.closed(), authenticated: authenticated.closed() }).toEqual({
      silent: true,
      authenticated: false,
    });
    authenticated.socket.terminate();
  });
});
