import { AppConfig } from '@app/config';
import { natsNames } from '@app/contracts';
import { ConsumerInfo, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Client } from 'pg';
import type { TestResponse } from './gateway';
import { AppProcess, freePort, waitForHttp } from './processes';

/** Anything that answers the HTTP API: the in-process {@link TestGateway} or a {@link GatewayProcess}. */
export interface Api {
  request<T = any>(
    method: string,
    url: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<TestResponse<T>>;
}

export const inSeconds = (seconds: number, from = Date.now()): string => new Date(from + seconds * 1000).toISOString();
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves with the probe's first truthy answer; fails naming `what` when `timeoutMs` passes first. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false>,
  timeoutMs = 10_000,
  intervalMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** A plain Postgres session on a test database, for what a test must see or do beside the apps. */
export class Sql {
  private constructor(readonly client: Client) {}

  static async connect(url: string): Promise<Sql> {
    const client = new Client({ connectionString: url });
    await client.connect();
    return new Sql(client);
  }

  async query<T = any>(text: string, params: unknown[] = []): Promise<T[]> {
    return (await this.client.query(text, params)).rows as T[];
  }

  /** Whether the run's current state is recorded as published (the dispatcher committed its record). */
  async isDispatched(runId: string): Promise<boolean> {
    const [row] = await this.query<{ dispatched: boolean }>(
      `SELECT dispatched_state_id IS NOT DISTINCT FROM state_id AND dispatched_queue_id IS NOT DISTINCT FROM work_queue_id AS dispatched
         FROM flow_run WHERE id = $1`,
      [runId],
    );
    return row?.dispatched ?? false;
  }

  /** Whether every one of the runs is recorded as published. */
  async allDispatched(runIds: string[]): Promise<boolean> {
    const [row] = await this.query<{ pending: number }>(
      `SELECT count(*)::int AS pending FROM flow_run
        WHERE id = ANY($1) AND (dispatched_state_id IS DISTINCT FROM state_id OR dispatched_queue_id IS DISTINCT FROM work_queue_id)`,
      [runIds],
    );
    return row.pending === 0;
  }

  async deliveryColumns(runId: string): Promise<{
    state_type: string;
    dispatch_epoch: number;
    leased_until: Date | null;
    dispatched_state_id: string | null;
  }> {
    const [row] = await this.query(
      `SELECT state_type, dispatch_epoch, leased_until, dispatched_state_id FROM flow_run WHERE id = $1`,
      [runId],
    );
    return row;
  }

  end(): Promise<void> {
    return this.client.end();
  }
}

/** JetStream's view of a pool's stream and a queue's consumer, read over a connection of the test's own. */
export class BusProbe {
  constructor(private readonly config: AppConfig) {}

  private async withManager<T>(
    work: (jsm: Awaited<ReturnType<typeof jetstreamManager>>, names: ReturnType<typeof natsNames>) => Promise<T>,
  ): Promise<T> {
    const nc = await connect({ servers: this.config.nats.url.split(',') });
    try {
      return await work(await jetstreamManager(nc), natsNames(this.config.nats.namespace));
    } finally {
      await nc.close();
    }
  }

  consumer(poolId: string, queueId: string): Promise<ConsumerInfo> {
    return this.withManager((jsm, names) => jsm.consumers.info(names.poolStream(poolId), names.queueConsumer(queueId)));
  }

  /** Messages of a queue not settled yet: waiting, or delivered and not acked. */
  async unsettled(poolId: string, queueId: string): Promise<number> {
    const info = await this.consumer(poolId, queueId);
    return info.num_pending + info.num_ack_pending;
  }

  /** Messages stored in the pool's stream. */
  streamMessages(poolId: string): Promise<number> {
    return this.withManager(async (jsm, names) => (await jsm.streams.info(names.poolStream(poolId))).state.messages);
  }

  /** The `Nats-Msg-Id` of the last message stored on a queue's subject, if any. */
  lastMessageId(poolId: string, queueId: string): Promise<string | null> {
    return this.withManager(async (jsm, names) => {
      const message = await jsm.streams
        .getMessage(names.poolStream(poolId), { last_by_subj: names.queueSubject(poolId, queueId) })
        .catch(() => null);
      return message?.header.get('Nats-Msg-Id') ?? null;
    });
  }
}

/** Creates flows, pools and SCHEDULED runs through the API. */
export class Fixtures {
  constructor(
    private readonly api: Api,
    readonly flowId: string,
  ) {}

  static async create(api: Api, flowName = 'delivery'): Promise<Fixtures> {
    const flow = await api.request('POST', '/flows/', { name: flowName });
    return new Fixtures(api, flow.body.id);
  }

  async pool(name: string, settings: { concurrency_limit?: number | null } = {}): Promise<string> {
    const response = await this.api.request('POST', '/work_pools/', { name, type: 'process', ...settings });
    if (response.status !== 201) throw new Error(`pool ${name}: ${response.status} ${response.text}`);
    return response.body.id;
  }

  async queue(
    pool: string,
    name: string,
    settings: { priority?: number; concurrency_limit?: number | null } = {},
  ): Promise<string> {
    const response = await this.api.request('POST', `/work_pools/${pool}/queues/`, { name, ...settings });
    if (response.status !== 201) throw new Error(`queue ${pool}/${name}: ${response.status} ${response.text}`);
    return response.body.id;
  }

  /** A SCHEDULED run on the pool (its default queue unless `queue` is named), starting `startsIn` seconds from now. */
  async run(
    pool: string,
    queue: string | null = null,
    startsIn = 0,
    extra: Record<string, unknown> = {},
  ): Promise<{ id: string; work_queue_id: string; state_id: string }> {
    const response = await this.api.request('POST', '/flow_runs/', {
      flow_id: this.flowId,
      work_pool_name: pool,
      ...(queue ? { work_queue_name: queue } : {}),
      state: { type: 'SCHEDULED', state_details: { scheduled_time: inSeconds(startsIn) } },
      ...extra,
    });
    if (response.status !== 201) throw new Error(`run on ${pool}: ${response.status} ${response.text}`);
    return response.body;
  }
}

/** A poll's returned run ids, in response order. */
export const runIds = (response: TestResponse): string[] =>
  Array.isArray(response.body) ? response.body.map((offer: any) => offer.flow_run.id) : [];

/** The built gateway as a real process, on the same database and namespace as an in-process gateway. */
export class GatewayProcess implements Api {
  private constructor(
    readonly process: AppProcess,
    readonly port: number,
  ) {}

  static async start(config: AppConfig, overrides: Record<string, string> = {}): Promise<GatewayProcess> {
    const port = await freePort();
    const child = AppProcess.start('gateway', {
      DATABASE_URL: config.db.url,
      NATS_URL: config.nats.url,
      NATS_NAMESPACE: config.nats.namespace,
      DELIVERY_LEASE_SECONDS: String(config.dispatch.leaseSeconds),
      DELIVERY_CLAIM_WINDOW_MS: String(config.dispatch.claimWindowMs),
      DELIVERY_CLAIM_WINDOW_PER_RUN_MS: String(config.dispatch.claimWindowPerRunMs),
      DISPATCH_HORIZON_SECONDS: String(config.dispatch.horizonSeconds),
      DISPATCH_INTERVAL_MS: String(config.dispatch.intervalMs),
      LOG_LEVEL: 'warn',
      ...overrides,
      PORT: String(port),
    });
    try {
      await waitForHttp(`http://127.0.0.1:${port}/api/health`);
    } catch (error) {
      await child.stop('SIGKILL');
      throw new Error(`${String(error)}\n${child.lines.join('\n')}`, { cause: error });
    }
    return new GatewayProcess(child, port);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/api`;
  }

  async request<T = any>(
    method: string,
    url: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<TestResponse<T>> {
    const response = await fetch(`${this.url}${url.replace(/^\/api/, '')}`, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, body: parsed as T, text, headers: Object.fromEntries(response.headers) };
  }

  /** `kill -9`: no shutdown hook runs, nothing is flushed. */
  kill(): Promise<unknown> {
    return this.process.stop('SIGKILL');
  }

  stop(): Promise<unknown> {
    return this.process.stop('SIGTERM');
  }
}

/** One run handed to one holder (an HTTP poller or a NATS worker), when the holder saw it. */
export interface Receipt {
  runId: string;
  queueId: string;
  holder: string;
  /** When the answer holding the run came back. */
  at: number;
  /** When the poll that got it was sent: its lease started after this. */
  sentAt: number;
}

/**
 * A stock-worker-like poller in a loop: polls a pool through an API, records every run it receives and never
 * claims anything itself (the test decides what happens to the runs). Poll failures are counted, not thrown: a
 * fault test polls through the fault.
 */
export class PollLoop {
  readonly receipts: Receipt[] = [];
  failures = 0;
  private running = true;
  private readonly done: Promise<void>;

  constructor(
    private readonly api: Api,
    private readonly pool: string,
    readonly holder = 'poller',
    private readonly body: () => object = () => ({ scheduled_before: inSeconds(10) }),
    private readonly pauseMs = 20,
  ) {
    this.done = this.loop();
  }

  private async loop(): Promise<void> {
    while (this.running) {
      try {
        const sentAt = Date.now();
        const response = await this.api.request(
          'POST',
          `/work_pools/${this.pool}/get_scheduled_flow_runs`,
          this.body(),
        );
        const at = Date.now();
        if (response.status !== 200) this.failures++;
        const offers: { flow_run: { id: string }; work_queue_id: string }[] = Array.isArray(response.body)
          ? response.body
          : [];
        for (const offer of offers) {
          this.receipts.push({
            runId: offer.flow_run.id,
            queueId: offer.work_queue_id,
            holder: this.holder,
            at,
            sentAt,
          });
        }
      } catch {
        this.failures++;
      }
      await sleep(this.pauseMs);
    }
  }

  receiptsOf(runId: string): Receipt[] {
    return this.receipts.filter((receipt) => receipt.runId === runId);
  }

  /** The `count`-th receipt of the run (1-based). */
  receipt(runId: string, count = 1, timeoutMs = 10_000): Promise<Receipt> {
    return waitFor(
      `receipt #${count} of run ${runId}`,
      () => Promise.resolve(this.receiptsOf(runId)[count - 1]),
      timeoutMs,
      5,
    );
  }

  stop(): Promise<void> {
    this.running = false;
    return this.done;
  }
}
