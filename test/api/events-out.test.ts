// The `/api/events/out` websocket as Prefect 3.9.1's PrefectEventSubscriber uses it, over a real socket: the
// `prefect` subprotocol and its auth handshake, then a `filter` message; events published on NATS (by this
// gateway, or by any other process) streamed as Prefect frames them when the filter includes them, recent ones
// backfilled; Prefect's close codes for bad handshakes; no subscription left behind, NATS outages ridden out.
import { connect, NatsConnection } from '@nats-io/transport-node';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { EventStream } from '../../apps/gateway/src/events/event-stream.service';
import { TestGateway } from '../support/gateway';
import { PrivateNatsServer } from '../../bench/nats-servers';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Frame {
  type: string;
  event: Record<string, any>;
}

/** A websocket client that keeps every message and the close, for assertions. */
class Client {
  readonly messages: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => this.messages.push(JSON.parse(data.toString()) as Frame));
    this.closed = new Promise((resolve) =>
      socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
  }

  static open(url: string, protocols: string[] = ['prefect']): Promise<Client> {
    const socket = new WebSocket(url, protocols);
    const client = new Client(socket);
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(client));
      socket.once('error', reject);
    });
  }

  send(message: unknown): void {
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** Waits until `count` messages came (or 5 s passed), and returns them all. */
  async received(count: number, timeoutMs = 5000): Promise<Frame[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length < count && Date.now() < deadline) await sleep(10);
    return this.messages;
  }

  /** What PrefectEventSubscriber sends: auth (its token), then the filter with `occurred` from a minute ago. */
  async subscribe(filter: Record<string, unknown>, extra: Record<string, unknown> = {}, token: string | null = null) {
    this.send({ type: 'auth', token });
    expect((await this.received(1))[0]).toEqual({ type: 'auth_success' });
    this.messages.length = 0;
    this.send({ type: 'filter', filter: { occurred: window(), ...filter }, ...extra });
    // The subscription is made on receipt; a ping round trip proves the filter message was read.
    await new Promise<void>((resolve) => {
      this.socket.once('pong', () => resolve());
      this.socket.ping();
    });
  }

  ids(): string[] {
    return this.messages.map((message) => message.event.id as string);
  }
}

/** PrefectEventSubscriber's window: from a minute ago to a year ahead. */
const window = (sinceMs = 60_000) => ({
  since: new Date(Date.now() - sinceMs).toISOString(),
  until: new Date(Date.now() + 365 * 86_400_000).toISOString(),
});

function event(name: string, overrides: Record<string, unknown> = {}): Record<string, any> {
  return {
    id: randomUUID(),
    occurred: new Date().toISOString(),
    event: name,
    resource: { 'prefect.resource.id': `acme.thing.${randomUUID()}`, 'prefect.resource.name': 'thing' },
    related: [],
    payload: {},
    ...overrides,
  };
}

async function listen(gw: TestGateway): Promise<string> {
  await gw.app.listen(0, '127.0.0.1');
  const { port } = gw.app.getHttpServer().address() as AddressInfo;
  return `ws://127.0.0.1:${port}/api/events/out`;
}

describe('GET /api/events/out (websocket)', () => {
  let gw: TestGateway;
  let nc: NatsConnection;
  let url: string;

  beforeAll(async () => {
    gw = await TestGateway.start();
    url = await listen(gw);
    nc = await connect({ servers: gw.config.nats.url });
  });
  afterAll(async () => {
    await nc.close();
    await gw.stop();
  });

  /** Publishes events on NATS as another process would, and waits until the server has them. */
  async function publish(...events: Record<string, any>[]): Promise<void> {
    for (const e of events) nc.publish(`${gw.config.nats.namespace}.events.${e.event}`, JSON.stringify(e));
    await nc.flush();
    await sleep(100);
  }

  describe('streaming', () => {
    it('sends the events its filter includes, framed as Prefect frames them, and not the others', async () => {
      const client = await Client.open(url);
      expect(client.socket.protocol).toBe('prefect');
      await client.subscribe({ event: { name: ['acme.wanted'] } }, { backfill: false });
      const at = new Date();
      const wanted = event('acme.wanted', {
        // An hour ahead in +01:00, to the microsecond: Prefect hands it out in UTC.
        occurred: `${new Date(at.getTime() + 3600_000).toISOString().slice(0, 23)}456+01:00`,
        related: [{ 'prefect.resource.id': 'acme.owner.1', 'prefect.resource.role': 'owner' }],
        payload: { n: 1 },
        received: '2026-12-06T22:00:00.5Z',
      });
      const outside = { ...wanted, id: randomUUID(), occurred: new Date(at.getTime() - 7200_000).toISOString() };
      await publish(event('acme.unwanted'), outside, wanted);
      const [frame] = await client.received(1);
      expect(frame).toEqual({
        type: 'event',
        event: {
          occurred: `${at.toISOString().slice(0, 23)}456Z`,
          event: 'acme.wanted',
          resource: wanted.resource,
          related: wanted.related,
          payload: { n: 1 },
          id: wanted.id,
          follows: null,
          received: '2026-12-06T22:00:00.500000Z',
        },
      });
      // Prefect's key order, as its `model_dump` writes it.
      expect(Object.keys(frame.event)).toEqual([
        'occurred',
        'event',
        'resource',
        'related',
        'payload',
        'id',
        'follows',
        'received',
      ]);
      await sleep(200);
      expect(client.messages).toHaveLength(1);
      client.socket.close();
    });

    it('streams the Cancelling event of a flow run as the cancelling observer asks for it, received stamped', async () => {
      const flowId = (await gw.post('/flows/', { name: 'long' })).body.id;
      const runId = (await gw.post('/flow_runs/', { flow_id: flowId, state: { type: 'RUNNING' } })).body.id;
      const client = await Client.open(url);
      await client.subscribe({ event: { name: ['prefect.flow-run.Cancelling'] } });
      const before = Date.now();
      const answer = await gw.post(`/flow_runs/${runId}/set_state`, {
        state: { type: 'CANCELLING', name: 'Cancelling' },
      });
      expect(answer.body.status).toBe('ACCEPT');
      const answeredAt = Date.now();
      const [frame] = await client.received(1);
      const latencyMs = Date.now() - answeredAt;
      process.stdout.write(`events-out: Cancelling event on the socket ${latencyMs} ms after set_state answered\n`);
      expect(latencyMs).toBeLessThan(1000);
      expect(frame.event).toMatchObject({
        id: answer.body.state.id,
        event: 'prefect.flow-run.Cancelling',
        resource: { 'prefect.resource.id': `prefect.flow-run.${runId}`, 'prefect.state-type': 'CANCELLING' },
        payload: { intended: { from: 'RUNNING', to: 'CANCELLING' } },
      });
      expect(Date.parse(frame.event.received as string)).toBeGreaterThanOrEqual(before - 1);
      await sleep(200);
      expect(client.ids()).toEqual([answer.body.state.id]);
      client.socket.close();
    });

    it.each<[string, Record<string, unknown>, (ids: Record<string, any>) => boolean]>([
      ['event prefixes', { event: { prefix: ['acme.f.'] } }, (e) => e.event.startsWith('acme.f.')],
      [
        'excluded names and prefixes',
        { event: { prefix: ['acme.f.'], exclude_prefix: ['acme.f.b'], exclude_name: ['acme.f.c'] } },
        (e) => e.event === 'acme.f.a',
      ],
      ['resource ids', { resource: { id: ['acme.r.1'] } }, (e) => e.resource['prefect.resource.id'] === 'acme.r.1'],
      [
        'resource id prefixes',
        { resource: { id_prefix: ['acme.r.'] } },
        (e) => e.resource['prefect.resource.id'].startsWith('acme.r.'),
      ],
      [
        'resource labels, globs and negations',
        { resource: { labels: { 'prefect.resource.id': 'acme.r.*', color: ['!blue'] } } },
        (e) => e.resource['prefect.resource.id'].startsWith('acme.r.') && e.resource.color === 'red',
      ],
      [
        'any resource, the related ones included',
        { any_resource: { id: ['acme.owner.7'] } },
        (e) => e.related.some((r: Record<string, string>) => r['prefect.resource.id'] === 'acme.owner.7'),
      ],
      [
        'related resources in a role',
        { related: { role: ['owner'], labels: { 'prefect.resource.id': 'acme.owner.*' } } },
        (e) => e.related.some((r: Record<string, string>) => r['prefect.resource.role'] === 'owner'),
      ],
      ['text', { text: { query: 'needle -hay' } }, (e) => e.payload.text === 'needle'],
    ])('filters by %s', async (_name, filter, wanted) => {
      const all = [
        event('acme.f.a', {
          resource: { 'prefect.resource.id': 'acme.r.1', color: 'red' },
          related: [{ 'prefect.resource.id': 'acme.owner.7', 'prefect.resource.role': 'owner' }],
          payload: { text: 'needle' },
        }),
        event('acme.f.b', { resource: { 'prefect.resource.id': 'acme.r.2', color: 'blue' } }),
        event('acme.f.c', { resource: { 'prefect.resource.id': 'acme.s.1', color: 'red' }, payload: { text: 'hay' } }),
        event('acme.g.a', {
          related: [{ 'prefect.resource.id': 'acme.other', 'prefect.resource.role': 'parent' }],
          payload: { text: 'needle hay' },
        }),
      ];
      const client = await Client.open(url);
      await client.subscribe(filter, { backfill: false });
      await publish(...all);
      const expected = all.filter(wanted).map((e) => e.id);
      expect(expected.length).toBeGreaterThan(0);
      expect(expected.length).toBeLessThan(all.length);
      await client.received(expected.length);
      await sleep(200);
      expect(client.ids()).toEqual(expected);
      client.socket.close();
    });

    it('backfills the recent events the filter includes, oldest first, then streams without repeating them', async () => {
      const name = `acme.backfill.${randomUUID().slice(0, 8)}`;
      const now = Date.now();
      const old = event(name, { occurred: new Date(now - 120_000).toISOString() });
      const second = event(name, { occurred: new Date(now - 20_000).toISOString() });
      const first = event(name, { occurred: new Date(now - 30_000).toISOString() });
      const unrelated = event(`${name}.other`);
      await publish(old, second, first, unrelated);

      const client = await Client.open(url);
      await client.subscribe({ event: { name: [name] } });
      expect(client.ids()).toEqual([first.id, second.id]);
      const live = event(name);
      await publish(live);
      await client.received(3);
      await sleep(200);
      expect(client.ids()).toEqual([first.id, second.id, live.id]);
      client.socket.close();

      const noBackfill = await Client.open(url);
      await noBackfill.subscribe({ event: { name: [name] } }, { backfill: false });
      await sleep(200);
      expect(noBackfill.messages).toEqual([]);
      noBackfill.socket.close();

      // A filter's `since` reaching further back still gets at most Prefect's 15 minutes.
      const wide = await Client.open(url);
      await wide.subscribe({ event: { name: [name] }, occurred: window(3600_000) });
      expect(wide.ids()).toEqual([old.id, first.id, second.id, live.id]);
      wide.socket.close();
    });

    it('backfills each event exactly as it was streamed live, `received` stamped as it arrived', async () => {
      const name = `acme.same.${randomUUID().slice(0, 8)}`;
      const live = await Client.open(url);
      await live.subscribe({ event: { name: [name] } }, { backfill: false });
      const sent = [event(name, { payload: { n: 1 } }), event(name, { related: [{ 'prefect.resource.id': 'a.b' }] })];
      await publish(...sent);
      await live.received(2);
      await sleep(50);
      const later = await Client.open(url);
      await later.subscribe({ event: { name: [name] } });
      expect(live.ids()).toEqual(sent.map((e) => e.id));
      expect(later.messages).toEqual(live.messages);
      live.socket.close();
      later.socket.close();
    });

    it("takes the filter at once from a client without the subprotocol (Prefect's legacy mode)", async () => {
      const client = await Client.open(url, []);
      expect(client.socket.protocol).toBe('');
      client.send({ type: 'filter', filter: { occurred: window(), event: { name: ['acme.legacy'] } } });
      await sleep(100);
      const e = event('acme.legacy');
      await publish(e);
      await client.received(1);
      expect(client.ids()).toEqual([e.id]);
      client.socket.close();
    });

    it("without `occurred`, Prefect's default window ends when the filter was read: later events are not sent", async () => {
      const client = await Client.open(url);
      client.send({ type: 'auth', token: null });
      await client.received(1);
      client.send({ type: 'filter', filter: { event: { name: ['acme.no-window'] } }, backfill: false });
      await sleep(100);
      await publish(event('acme.no-window'));
      await sleep(200);
      expect(client.messages).toEqual([{ type: 'auth_success' }]);
      client.socket.close();
    });
  });

  describe('handshake errors', () => {
    it('closes with 1008 when the first message is not an auth message', async () => {
      const client = await Client.open(url);
      client.send({ type: 'filter', filter: {} });
      expect(await client.closed).toEqual({ code: 1008, reason: "Expected 'auth' message" });
    });

    it('closes with 1002 when the message after auth is not a filter', async () => {
      const client = await Client.open(url);
      client.send({ type: 'auth', token: null });
      client.send({ type: 'hello' });
      expect(await client.closed).toEqual({ code: 1002, reason: "Expected 'filter' message" });
    });

    it("closes with 1002 and Prefect's reason when the filter is missing", async () => {
      const missing = await Client.open(url);
      missing.send({ type: 'auth', token: null });
      missing.send({ type: 'filter' });
      expect(await missing.closed).toEqual({ code: 1002, reason: "Invalid filter: 'filter'" });
    });

    // Prefect closes with `Invalid filter: <pydantic's message>`, longer than a close frame holds: the connection
    // is dropped instead (measured on Prefect 3.9.1's server).
    it.each([
      ['a field of the wrong type', { event: { prefix: 'acme.' } }],
      ['an unknown field', { colour: 'red' }],
      ['a date that is not one', { occurred: { since: 'yesterday' } }],
      ['not an object', 5],
    ])('drops the connection without a close frame on a filter with %s, as Prefect does', async (_name, filter) => {
      const stream = gw.app.get(EventStream);
      const before = stream.subscriberCount;
      const client = await Client.open(url);
      client.send({ type: 'auth', token: null });
      client.send({ type: 'filter', filter });
      expect((await client.closed).code).toBe(1006);
      expect(stream.subscriberCount).toBe(before);
    });

    it.each([
      ['is not JSON', 'not json'],
      ['has no type', { filter: {} }],
      ['is not an object', [1]],
    ])('drops the connection without a close frame when the message after auth %s, as Prefect does', async (_n, m) => {
      const client = await Client.open(url);
      client.send({ type: 'auth', token: null });
      client.send(m);
      expect((await client.closed).code).toBe(1006);
    });
  });

  describe('subscriptions', () => {
    it('are ended when clients go, normally or not, and cost no NATS subscription of their own', async () => {
      const stream = gw.app.get(EventStream);
      await sleep(300);
      const before = stream.subscriberCount;
      const subscriptionsBefore = await natsSubscriptionCount(gw);
      const clients = await Promise.all(Array.from({ length: 20 }, () => Client.open(url)));
      for (const client of clients) await client.subscribe({ event: { prefix: ['acme.'] } }, { backfill: false });
      expect(stream.subscriberCount).toBe(before + 20);
      expect(await natsSubscriptionCount(gw)).toBe(subscriptionsBefore);
      clients.slice(0, 10).forEach((client) => client.socket.close());
      clients.slice(10).forEach((client) => client.socket.terminate());
      await Promise.all(clients.map((client) => client.closed));
      const deadline = Date.now() + 5000;
      while (stream.subscriberCount > before && Date.now() < deadline) await sleep(20);
      expect(stream.subscriberCount).toBe(before);
    });
  });
});

/** Subscriptions the gateway's NATS connection holds (nats.js keeps them in `protocol.subscriptions`). */
async function natsSubscriptionCount(gw: TestGateway): Promise<number> {
  const { NatsClient } = await import('@app/messaging');
  const connection = gw.app.get(NatsClient).connection as unknown as {
    protocol: { subscriptions: { size: () => number } };
  };
  return connection.protocol.subscriptions.size();
}

describe('GET /api/events/out at shutdown', () => {
  it('closes its sockets when the gateway shuts down, without holding the shutdown up', async () => {
    const gw = await TestGateway.start();
    const url = await listen(gw);
    const client = await Client.open(url);
    await client.subscribe({ event: { prefix: ['acme.'] } });
    const started = Date.now();
    await gw.stop();
    expect((await client.closed).code).toBe(1005);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('GET /api/events/out with API_AUTH_STRING', () => {
  const AUTH = 'admin:s3cret';
  let gw: TestGateway;
  let url: string;

  beforeAll(async () => {
    gw = await TestGateway.start({ API_AUTH_STRING: AUTH });
    url = await listen(gw);
  });
  afterAll(() => gw.stop());

  it('streams to a client whose auth message carries the auth string', async () => {
    const client = await Client.open(url);
    await client.subscribe({ event: { name: ['prefect.flow.created'] } }, {}, AUTH);
    client.socket.close();
  });

  it.each([
    ['a wrong token', 'admin:wrong', 'Invalid token'],
    ['no token', null, 'Auth required but no token provided'],
  ])('closes with 1008 on %s', async (_name, token, reason) => {
    const client = await Client.open(url);
    client.send({ type: 'auth', token });
    expect(await client.closed).toEqual({ code: 1008, reason });
  });

  it('refuses the upgrade (403) of a client without the prefect subprotocol', async () => {
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const socket = new WebSocket(url);
      socket.on('unexpected-response', (_request, response) => resolve(response.statusCode));
      socket.on('open', () => reject(new Error('accepted')));
      socket.on('error', reject);
    });
    expect(status).toBe(403);
  });
});

describe('GET /api/events/out during a NATS outage', () => {
  let nats: PrivateNatsServer;
  let gw: TestGateway;
  let url: string;

  beforeAll(async () => {
    nats = await PrivateNatsServer.start();
    gw = await TestGateway.start({ NATS_URL: nats.url });
    url = await listen(gw);
  });
  afterAll(async () => {
    await gw.stop();
    await nats.dispose();
  });

  it('keeps its subscribers, and streams what was published meanwhile once NATS is back, with one subscription', async () => {
    const flowId = (await gw.post('/flows/', { name: 'outage' })).body.id;
    const runId = (await gw.post('/flow_runs/', { flow_id: flowId, state: { type: 'RUNNING' } })).body.id;
    const client = await Client.open(url);
    await client.subscribe({ resource: { id: [`prefect.flow-run.${runId}`] } }, { backfill: false });
    const subscriptions = await natsSubscriptionCount(gw);

    await nats.stop();
    const answer = await gw.post(`/flow_runs/${runId}/set_state`, { state: { type: 'CANCELLING' } });
    expect(answer.body.status).toBe('ACCEPT');
    await sleep(1500);
    expect(client.messages).toEqual([]);
    await nats.restart({ keepStore: true });

    const [frame] = await client.received(1, 15_000);
    expect(frame?.event).toMatchObject({ id: answer.body.state.id, event: 'prefect.flow-run.Cancelling' });
    expect(await natsSubscriptionCount(gw)).toBe(subscriptions);
    expect(gw.app.get(EventStream).subscriberCount).toBe(1);
    client.socket.close();
  });
});
