import http from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { ConnectionCap } from './connection-cap';

/** A raw client and whether the server has closed it. */
class Client {
  closed = false;
  received = '';
  readonly socket: Socket;

  constructor(port: number, sent: string) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.on('data', (chunk: Buffer) => (this.received += chunk.toString()));
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => (this.closed = true));
    this.socket.write(sent);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const SLOW_BODY = 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n[';
const FULL_REQUEST = 'GET / HTTP/1.1\r\nHost: x\r\n\r\n';

describe('ConnectionCap', () => {
  let server: http.Server;
  let port: number;
  const clients: Client[] = [];
  /** Requests the handler holds unanswered until released. */
  let held: http.ServerResponse[] = [];
  const open = (sent: string): Client => {
    const client = new Client(port, sent);
    clients.push(client);
    return client;
  };

  beforeEach(async () => {
    server = http.createServer((request, response) => {
      if (request.url === '/hold') held.push(response);
      else response.end('ok');
    });
    new ConnectionCap(server, 3);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) client.socket.destroy();
    held = [];
    await new Promise((resolve) => server.close(resolve));
  });

  it('at the cap, evicts the oldest connection still sending its request, and serves the new one', async () => {
    const slow = [open(SLOW_BODY), open(''), open(SLOW_BODY)];
    await sleep(100);
    const fresh = open(FULL_REQUEST);
    await sleep(200);
    expect(fresh.received).toMatch(/^HTTP\/1.1 200/);
    expect(slow.map((client) => client.closed)).toEqual([true, false, false]);
    const another = open(FULL_REQUEST);
    await sleep(200);
    expect(another.received).toMatch(/^HTTP\/1.1 200/);
    expect(slow.map((client) => client.closed)).toEqual([true, true, false]);
  });

  it('never evicts a connection being answered or idle between requests: the new one is closed instead', async () => {
    const busy = [
      open('GET /hold HTTP/1.1\r\nHost: x\r\n\r\n'),
      open('GET /hold HTTP/1.1\r\nHost: x\r\n\r\n'),
      open(FULL_REQUEST),
    ];
    await sleep(200);
    expect(busy[2].received).toMatch(/^HTTP\/1.1 200/);
    const refused = open(FULL_REQUEST);
    await sleep(200);
    expect(refused.closed).toBe(true);
    expect(refused.received).toBe('');
    expect(busy.map((client) => client.closed)).toEqual([false, false, false]);
    for (const response of held) response.end('done');
    await sleep(100);
    expect(busy.every((client) => client.received.startsWith('HTTP/1.1 200'))).toBe(true);
  });
});
