// The `/api/events/in` websocket as Prefect 3.9.1's PrefectEventsClient uses it, over a real socket: the
// `prefect` subprotocol and its auth handshake, events published on NATS, client task-run events recorded as
// Prefect's task-run recorder records them.
import { PrefectEvent } from '@app/contracts';
import { connect, NatsConnection } from '@nats-io/transport-node';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { TestGateway } from '../support/gateway';
import { expectOperation } from '../support/openapi';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A websocket client that keeps every message and the close, for assertions. */
class Client {
  readonly messages: unknown[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => this.messages.push(JSON.parse(data.toString())));
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

  /** What PrefectEventsClient does first: `{"type": "auth", "token": null}`, then waits for the answer. */
  async authenticate(): Promise<unknown> {
    this.socket.send(JSON.stringify({ type: 'auth', token: null }));
    const deadline = Date.now() + 5000;
    while (this.messages.length === 0 && Date.now() < deadline) await sleep(10);
    return this.messages[0];
  }

  send(event: unknown): void {
    this.socket.send(typeof event === 'string' ? event : JSON.stringify(event));
  }

  /** The client's checkpoint: a ping, answered once the server read everything sent before it. */
  ping(): Promise<void> {
    return new Promise((resolve) => {
      this.socket.once('pong', () => resolve());
      this.socket.ping();
    });
  }

  close(): void {
    this.socket.close();
  }
}

interface TaskRunEventOptions {
  taskRunId: string;
  flowRunId: string | null;
  type: string;
  name?: string;
  occurred: string;
  from?: string | null;
  taskRun?: Record<string, unknown>;
  orchestration?: string | null;
}

/** An event as Prefect's `emit_task_run_state_change_event` builds it (client-side task orchestration). */
function taskRunEvent(options: TaskRunEventOptions): Record<string, unknown> {
  const name = options.name ?? options.type.charAt(0) + options.type.slice(1).toLowerCase();
  const taskRun = {
    name: 'double-0',
    task_key: 'worker_flows.double-1b2c',
    dynamic_key: '0',
    empirical_policy: {
      max_retries: 0,
      retry_delay_seconds: 0.0,
      retries: 0,
      retry_delay: 0,
      retry_jitter_factor: null,
    },
    tags: ['nightly'],
    labels: {},
    task_inputs: { n: [] },
    run_count: options.type === 'PENDING' ? 0 : 1,
    flow_run_run_count: 1,
    expected_start_time: '2026-08-21T12:00:00.000100Z',
    total_run_time: 0.0,
    ...(options.type === 'PENDING' ? {} : { start_time: '2026-08-21T12:00:01.000000Z' }),
    ...options.taskRun,
  };
  const resource: Record<string, string> = {
    'prefect.resource.id': `prefect.task-run.${options.taskRunId}`,
    'prefect.resource.name': taskRun.name,
    'prefect.run-count': String(taskRun.run_count),
    'prefect.state-message': '',
    'prefect.state-name': name,
    'prefect.state-timestamp': options.occurred,
    'prefect.state-type': options.type,
  };
  if (options.orchestration !== null) resource['prefect.orchestration'] = options.orchestration ?? 'client';
  return {
    occurred: options.occurred,
    event: `prefect.task-run.${name}`,
    resource,
    related: [
      { 'prefect.resource.id': 'prefect.tag.nightly', 'prefect.resource.role': 'tag' },
      ...(options.flowRunId
        ? [
            {
              'prefect.resource.id': `prefect.flow-run.${options.flowRunId}`,
              'prefect.resource.role': 'flow-run',
              'prefect.resource.name': 'greet-run',
            },
          ]
        : []),
    ],
    payload: {
      intended: { from: options.from ?? null, to: options.type },
      initial_state: options.from ? { type: options.from, name: 'previous', message: '', state_details: {} } : null,
      validated_state: { type: options.type, name, message: '', state_details: {}, data: null },
      task_run: taskRun,
    },
    id: randomUUID(),
    follows: null,
  };
}

describe('GET /api/events/in (websocket)', () => {
  let gw: TestGateway;
  let nc: NatsConnection;
  let url: string;
  let base: string;
  let flowRunId: string;
  const received: { subject: string; event: PrefectEvent }[] = [];

  beforeAll(async () => {
    gw = await TestGateway.start();
    await gw.app.listen(0, '127.0.0.1');
    const { port } = gw.app.getHttpServer().address() as AddressInfo;
    base = `ws://127.0.0.1:${port}/api`;
    url = `${base}/events/in`;
    nc = await connect({ servers: gw.config.nats.url });
    nc.subscribe(`${gw.config.nats.namespace}.events.>`, {
      callback: (_error, message) => {
        received.push({ subject: message.subject, event: message.json<PrefectEvent>() });
      },
    });
    await nc.flush();
    const flow = await gw.post('/flows/', { name: 'greet' });
    flowRunId = (await gw.post('/flow_runs/', { flow_id: flow.body.id })).body.id;
  });
  afterAll(async () => {
    await nc.close();
    await gw.stop();
  });

  const publishedAs = (eventId: string) => received.filter(({ event }) => event.id === eventId.toLowerCase());

  /** The `times`-th publication of the event, once it came (undefined after 5 s). */
  async function published(eventId: string, times = 1): Promise<{ subject: string; event: PrefectEvent } | undefined> {
    const deadline = Date.now() + 5000;
    while (publishedAs(eventId).length < times && Date.now() < deadline) await sleep(20);
    return publishedAs(eventId)[times - 1];
  }

  /** Sends the events on an authenticated connection and waits until each was published (once more). */
  async function stream(...events: Record<string, unknown>[]): Promise<void> {
    const client = await Client.open(url);
    expect(await client.authenticate()).toEqual({ type: 'auth_success' });
    const before = events.map((event) => publishedAs(event.id as string).length);
    for (const event of events) client.send(event);
    for (const [index, event] of events.entries()) {
      expect(await published(event.id as string, before[index] + 1)).toBeDefined();
    }
    client.close();
  }

  describe('the connection', () => {
    it('speaks the prefect subprotocol: an auth message first, answered auth_success', async () => {
      const client = await Client.open(url);
      expect(client.socket.protocol).toBe('prefect');
      expect(await client.authenticate()).toEqual({ type: 'auth_success' });
      await client.ping();
      client.close();
      expect((await client.closed).code).toBe(1005);
    });

    it('closes with 1008 when the first message is not an auth message', async () => {
      const client = await Client.open(url);
      client.send({ type: 'hello' });
      expect(await client.closed).toEqual({ code: 1008, reason: "Expected 'auth' message" });
    });

    it("takes events at once from a client without the subprotocol (Prefect's legacy mode)", async () => {
      const client = await Client.open(url, []);
      expect(client.socket.protocol).toBe('');
      const event = {
        id: randomUUID(),
        occurred: '2026-08-21T12:00:00Z',
        event: 'acme.legacy.ping',
        resource: { 'prefect.resource.id': 'acme.thing' },
      };
      client.send(event);
      expect(await published(event.id)).toBeDefined();
      client.close();
    });

    it('still takes in the events a client sent right before it closed', async () => {
      const client = await Client.open(url);
      await client.authenticate();
      const taskRunId = randomUUID();
      const events = ['PENDING', 'RUNNING', 'COMPLETED'].map((type, n) =>
        taskRunEvent({
          taskRunId,
          flowRunId,
          type,
          occurred: `2026-08-21T12:00:0${n}Z`,
          taskRun: { dynamic_key: 'closing' },
        }),
      );
      for (const event of events) client.send(event);
      client.close();
      await client.closed;
      for (const event of events) expect(await published(event.id as string)).toBeDefined();
      expect((await gw.get(`/task_runs/${taskRunId}`)).body).toMatchObject({ state_type: 'COMPLETED' });
    });

    it('drops the connection without a close frame on a message that is not an event, as uvicorn does', async () => {
      const client = await Client.open(url);
      await client.authenticate();
      const before = {
        id: randomUUID(),
        occurred: '2026-08-21T12:00:00Z',
        event: 'acme.before',
        resource: { 'prefect.resource.id': 'acme.thing' },
      };
      const invalid = {
        id: randomUUID(),
        occurred: '2026-08-21T12:00:00Z',
        event: 'acme.invalid',
        resource: { 'prefect.resource.name': 'no id' },
      };
      const after = {
        id: randomUUID(),
        occurred: '2026-08-21T12:00:00Z',
        event: 'acme.after',
        resource: { 'prefect.resource.id': 'acme.thing' },
      };
      for (const event of [before, invalid, after]) client.send(event);
      expect((await client.closed).code).toBe(1006);
      expect(await published(before.id)).toBeDefined();
      await sleep(200);
      expect(received.filter(({ event }) => event.id === invalid.id || event.id === after.id)).toEqual([]);
    });

    it('is closed by the server when the gateway shuts down, and does not hold the shutdown up', async () => {
      const other = await TestGateway.start();
      await other.app.listen(0, '127.0.0.1');
      const { port } = other.app.getHttpServer().address() as AddressInfo;
      const client = await Client.open(`ws://127.0.0.1:${port}/api/events/in`);
      expect(await client.authenticate()).toEqual({ type: 'auth_success' });
      await other.stop();
      expect((await client.closed).code).toBe(1005);
    });

    it.each([
      ['events/out', '/events/out'],
      ['the worker channel', '/work_pools/some-pool/workers/connect'],
    ])('still answers a websocket upgrade to %s with 404, then closes the connection', async (_name, path) => {
      const socket = new WebSocket(`${base}${path}`, ['prefect']);
      const answer = await new Promise<{ status: number | undefined; closedByServer: Promise<boolean> }>(
        (resolve, reject) => {
          socket.on('unexpected-response', (_request, response) => {
            response.resume();
            // The socket left Node's HTTP parser for the upgrade: nothing but the server's own hook ends it.
            const closedByServer = new Promise<boolean>((closed) => {
              response.socket.once('close', () => closed(true));
              setTimeout(() => closed(false), 2000);
            });
            resolve({ status: response.statusCode, closedByServer });
          });
          socket.on('open', () => reject(new Error('the server accepted the websocket upgrade')));
          socket.on('error', reject);
        },
      );
      expect(answer.status).toBe(404);
      expect(await answer.closedByServer).toBe(true);
    });
  });

  describe('events', () => {
    it('are published on <ns>.events.<event name>, as Prefect receives them: received stamped, defaults filled, unknown keys dropped', async () => {
      const id = randomUUID().toUpperCase();
      const before = Date.now();
      await stream({
        id,
        occurred: '2026-08-21T14:00:00.123456+02:00',
        event: 'prefect.flow-run.pull-step.executed',
        resource: { 'prefect.resource.id': 'prefect.flow-run.abc', 'prefect.resource.name': 'crimson-tortoise' },
        received: '1999-01-01T00:00:00Z',
        extra: 'ignored',
      });
      const { subject, event } = (await published(id))!;
      expect(subject).toBe(`${gw.config.nats.namespace}.events.prefect.flow-run.pull-step.executed`);
      expect(event).toEqual({
        id: id.toLowerCase(),
        occurred: '2026-08-21T12:00:00.123456Z',
        event: 'prefect.flow-run.pull-step.executed',
        resource: { 'prefect.resource.id': 'prefect.flow-run.abc', 'prefect.resource.name': 'crimson-tortoise' },
        related: [],
        payload: {},
        follows: null,
        received: expect.any(String),
      });
      expect(Date.parse(event.received!)).toBeGreaterThanOrEqual(before - 1);
      expect(Date.parse(event.received!)).toBeLessThanOrEqual(Date.now());
    });
  });

  describe('client task-run events (the task-run recorder)', () => {
    const read = async (id: string) => {
      const response = await gw.get(`/task_runs/${id}`);
      expectOperation(response, 'GET', '/task_runs/{id}', 200);
      return response.body;
    };
    const historyOf = async (id: string) => (await gw.db.repos.taskRunStates.historyOf(id)).map((state) => state.type);

    it('create the task run on its first event and move it through its states, readable and filterable', async () => {
      const taskRunId = randomUUID();
      const pending = taskRunEvent({ taskRunId, flowRunId, type: 'PENDING', occurred: '2026-08-21T12:00:00.500000Z' });
      const running = taskRunEvent({
        taskRunId,
        flowRunId,
        type: 'RUNNING',
        from: 'PENDING',
        occurred: '2026-08-21T12:00:01.000000Z',
      });
      const completed = taskRunEvent({
        taskRunId,
        flowRunId,
        type: 'COMPLETED',
        from: 'RUNNING',
        occurred: '2026-08-21T12:00:01.250000Z',
        taskRun: { end_time: '2026-08-21T12:00:01.250000Z', total_run_time: 0.25 },
      });
      await stream(pending);
      expect(await read(taskRunId)).toMatchObject({
        id: taskRunId,
        flow_run_id: flowRunId,
        state_type: 'PENDING',
        run_count: 0,
        state: { id: pending.id },
      });

      await stream(running, completed);
      const task = await read(taskRunId);
      expect(task).toMatchObject({
        id: taskRunId,
        name: 'double-0',
        flow_run_id: flowRunId,
        task_key: 'worker_flows.double-1b2c',
        dynamic_key: '0',
        tags: ['nightly'],
        task_inputs: { n: [] },
        empirical_policy: {
          max_retries: 0,
          retry_delay_seconds: 0,
          retries: 0,
          retry_delay: 0,
          retry_jitter_factor: null,
        },
        run_count: 1,
        flow_run_run_count: 1,
        state_id: completed.id,
        state_type: 'COMPLETED',
        state_name: 'Completed',
        expected_start_time: '2026-08-21T12:00:00.000Z',
        start_time: '2026-08-21T12:00:01.000Z',
        end_time: '2026-08-21T12:00:01.250Z',
        total_run_time: 0.25,
        state: {
          id: completed.id,
          type: 'COMPLETED',
          name: 'Completed',
          timestamp: '2026-08-21T12:00:01.250Z',
          state_details: { task_run_id: taskRunId, flow_run_id: flowRunId },
        },
      });
      expect(await historyOf(taskRunId)).toEqual(['PENDING', 'RUNNING', 'COMPLETED']);

      const filtered = await gw.post('/task_runs/filter', {
        flow_runs: { id: { any_: [flowRunId] } },
        task_runs: { state: { type: { any_: ['COMPLETED'] } } },
      });
      expectOperation(filtered, 'POST', '/task_runs/filter', 200);
      expect(filtered.body.map((run: { id: string }) => run.id)).toContain(taskRunId);
      expect(filtered.body.find((run: { id: string }) => run.id === taskRunId)).toEqual(task);
    });

    it('an older event arriving late adds its state to the history but does not overwrite the newer one', async () => {
      const taskRunId = randomUUID();
      const completed = taskRunEvent({
        taskRunId,
        flowRunId,
        type: 'COMPLETED',
        occurred: '2026-08-21T12:00:02.000000Z',
        taskRun: { dynamic_key: 'late' },
      });
      const running = taskRunEvent({
        taskRunId,
        flowRunId,
        type: 'RUNNING',
        occurred: '2026-08-21T12:00:01.000000Z',
        taskRun: { dynamic_key: 'late', name: 'renamed' },
      });
      await stream(completed, running);
      expect(await read(taskRunId)).toMatchObject({
        name: 'double-0',
        state_type: 'COMPLETED',
        state_id: completed.id,
      });
      expect(await historyOf(taskRunId)).toEqual(['RUNNING', 'COMPLETED']);
    });

    it('order states a microsecond apart', async () => {
      const taskRunId = randomUUID();
      const running = taskRunEvent({
        taskRunId,
        flowRunId,
        type: 'RUNNING',
        occurred: '2026-08-21T12:00:03.000100Z',
        taskRun: { dynamic_key: 'fast' },
      });
      const completed = taskRunEvent({
        taskRunId,
        flowRunId,
        type: 'COMPLETED',
        occurred: '2026-08-21T12:00:03.000101Z',
        taskRun: { dynamic_key: 'fast' },
      });
      await stream(running, completed);
      expect(await read(taskRunId)).toMatchObject({ state_type: 'COMPLETED', state_id: completed.id });
      await stream({ ...running, id: randomUUID() });
      expect(await read(taskRunId)).toMatchObject({ state_type: 'COMPLETED' });
    });

    it('are idempotent: a resent event records nothing twice', async () => {
      const taskRunId = randomUUID();
      const running = taskRunEvent({
        taskRunId,
        flowRunId,
        type: 'RUNNING',
        occurred: '2026-08-21T12:00:04.000000Z',
        taskRun: { dynamic_key: 'again' },
      });
      await stream(running);
      await stream(running);
      expect(await historyOf(taskRunId)).toEqual(['RUNNING']);
      expect(publishedAs(running.id as string)).toHaveLength(2);
    });

    it('land on the stored task run with the same flow run, task key and dynamic key, whatever id the event names', async () => {
      const created = await gw.post('/task_runs/', {
        flow_run_id: flowRunId,
        task_key: 'worker_flows.double-1b2c',
        dynamic_key: 'rest',
        name: 'from-rest',
      });
      const event = taskRunEvent({
        taskRunId: randomUUID(),
        flowRunId,
        type: 'RUNNING',
        occurred: new Date(Date.now() + 60_000).toISOString(),
        taskRun: { dynamic_key: 'rest' },
      });
      await stream(event);
      expect(await read(created.body.id)).toMatchObject({
        name: 'double-0',
        state_type: 'RUNNING',
        state_id: event.id,
        state: { state_details: { task_run_id: created.body.id } },
      });
      expect(
        (
          await gw.get(
            `/task_runs/${(event.resource as Record<string, string>)['prefect.resource.id'].split('.').pop()}`,
          )
        ).status,
      ).toBe(404);
    });

    it("are published but not recorded when they are not the client's, or name a flow run this server does not know", async () => {
      const serverSide = taskRunEvent({
        taskRunId: randomUUID(),
        flowRunId,
        type: 'RUNNING',
        occurred: '2026-08-21T12:00:05Z',
        orchestration: null,
      });
      const strangerId = randomUUID();
      const stranger = taskRunEvent({
        taskRunId: strangerId,
        flowRunId: randomUUID(),
        type: 'RUNNING',
        occurred: '2026-08-21T12:00:05Z',
      });
      const unreadable = taskRunEvent({
        taskRunId: randomUUID(),
        flowRunId,
        type: 'RUNNING',
        occurred: '2026-08-21T12:00:05Z',
      });
      delete (unreadable.payload as Record<string, unknown>).task_run;
      await stream(serverSide, stranger, unreadable);
      for (const event of [serverSide, stranger, unreadable]) {
        const taskRunId = (event.resource as Record<string, string>)['prefect.resource.id'].split('.').pop()!;
        expect((await gw.get(`/task_runs/${taskRunId}`)).status).toBe(404);
      }
    });

    it('without a flow run are keyed by their id alone', async () => {
      const taskRunId = randomUUID();
      const pending = taskRunEvent({
        taskRunId,
        flowRunId: null,
        type: 'PENDING',
        occurred: '2026-08-21T12:00:06Z',
        taskRun: { name: undefined },
      });
      const running = taskRunEvent({
        taskRunId,
        flowRunId: null,
        type: 'RUNNING',
        occurred: '2026-08-21T12:00:07Z',
        taskRun: { name: undefined },
      });
      await stream(pending, running);
      const task = await read(taskRunId);
      expect(task).toMatchObject({
        flow_run_id: null,
        state_type: 'RUNNING',
        state: { state_details: { flow_run_id: null, task_run_id: taskRunId } },
      });
      expect(task.name).toMatch(/^[a-z]+-[a-z]+$/);
    });
  });
});
