// An example of a worker that takes flow runs straight from NATS instead of polling over HTTP
// (docs/nats-workers.md). It claims the runs of the messages it holds, several in one request, settles each message
// as its claim's answer says, and logs what it would start.
//   npm run worker:nats -- --pool NAME [--api http://127.0.0.1:4200/api] [--nats nats://127.0.0.1:4222]
//                                      [--namespace prefect] [--name my-worker] [--once] [--claim-timeout-ms 5000]
//                                      [--claims 1]
// --claims is how many messages it holds at most (256 at most), those being claimed included: the messages held go in
// one batch claim, one batch in flight at a time, and those that arrive meanwhile wait for the next (a slot that
// comes free goes to the highest-priority queue with a message waiting); a real worker would bound it by how many
// runs it can start. With --claims 1 it claims one message at a time, in a batch of one.
// It connects as the apps do, with NATS_CREDS, NATS_TOKEN, NATS_USER/NATS_PASSWORD and NATS_TLS_* from the environment
// (--nats and --namespace override NATS_URL and NATS_NAMESPACE), and to the HTTP API with Prefect's client setting
// PREFECT_API_AUTH_STRING when the gateway requires basic auth.
import { loadConfig } from '@app/config';
import { ClaimFlowRunReply, ClaimFlowRunsReply, MAX_CLAIMS_PER_REQUEST, natsNames } from '@app/contracts';
import { natsConnectionOptions, STATUS_HEADER } from '@app/messaging';
import { Consumer, ConsumerMessages, jetstream, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { connect, NatsConnection } from '@nats-io/transport-node';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';

interface Queue {
  id: string;
  name: string;
  priority: number;
}

/** Resending an unanswered batch of claims: the first wait, doubled each time up to the cap. */
const FIRST_RESEND_MS = 250;
const MAX_RESEND_MS = 5000;
/** How long one pull of a queue stays open on the server before the worker makes another. */
const PULL_EXPIRES_MS = 5000;

const { values: args } = parseArgs({
  options: {
    pool: { type: 'string' },
    api: { type: 'string', default: 'http://127.0.0.1:4200/api' },
    nats: { type: 'string' },
    namespace: { type: 'string' },
    name: { type: 'string', default: `nats-worker-${process.pid}` },
    once: { type: 'boolean', default: false },
    'claim-timeout-ms': { type: 'string', default: '5000' },
    claims: { type: 'string', default: '1' },
  },
});

const log = (message: string, fields: Record<string, unknown> = {}) =>
  process.stdout.write(
    `${JSON.stringify({ time: new Date().toISOString(), worker: args.name, message, ...fields })}\n`,
  );

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const apiAuthString = process.env.PREFECT_API_AUTH_STRING;
const apiHeaders: Record<string, string> = {
  'content-type': 'application/json',
  ...(apiAuthString && { authorization: `Basic ${Buffer.from(apiAuthString).toString('base64')}` }),
};

async function api<T>(path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${args.api}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: apiHeaders,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** A held message and its claim, kept unchanged for every resend of the batch it is in. */
interface Held {
  message: JsMsg;
  claim: { flow_run_id: string; publication: string; transition_id: string };
  priority: number;
}

/** What the gateway answered for one claim: its `Prefect-Status` and body. */
type Answer = { status: number; body: unknown };

/**
 * Sends the batch until the gateway answers it; resolves to one answer per claim, in order. A batch whose answer was
 * lost may have been committed, wholly or in part: giving the messages back then would leave runs PENDING with nobody
 * to run them, so the same batch (same transition ids) is resent, with backoff, and the gateway recognises each claim
 * that won. A batch refused whole (a 4xx: malformed) is each claim's refusal.
 */
async function claimUntilAnswered(nc: NatsConnection, subject: string, batch: Held[]): Promise<Answer[]> {
  const request = JSON.stringify({ claims: batch.map((held) => held.claim) });
  const runs = batch.length;
  for (let wait = FIRST_RESEND_MS; ; wait = Math.min(wait * 2, MAX_RESEND_MS)) {
    try {
      const reply = await nc.request(subject, request, { timeout: Number(args['claim-timeout-ms']) });
      const status = Number(reply.headers?.get(STATUS_HEADER) ?? 0);
      if (status > 0 && status < 400) return reply.json<ClaimFlowRunsReply>().answers;
      if (status >= 400 && status < 500) return batch.map(() => ({ status, body: reply.json<unknown>() }));
      log('claims failed on the server; resending them', { runs, status, retry_in_ms: wait });
    } catch (error) {
      log('claims unanswered; resending them', { runs, error: String(error), retry_in_ms: wait });
    }
    await sleep(wait);
  }
}

/** Settles a claimed message as its answer says (docs/nats-workers.md); true when the run is this worker's. */
function settle({ message, claim }: Held, { status, body }: Answer): boolean {
  const runId = claim.flow_run_id;
  if (status >= 400) {
    log('claim refused', { flow_run_id: runId, status, body });
    message.term();
    return false;
  }
  const result = body as ClaimFlowRunReply;
  if (result.run) {
    message.ack();
    const { flow_run: run, work_queue_id: queueId } = result.run;
    log('claimed flow run; a real worker would start it now', {
      flow_run_id: run.id,
      name: run.name,
      queue: queueId,
      transition_id: claim.transition_id,
      answer: result.status,
    });
    return true;
  }
  if (result.status === 'WAIT') {
    const delay = result.details.type === 'wait_details' ? result.details.delay_seconds : 1;
    message.nak(delay * 1000);
  } else {
    message.term();
  }
  log(`claim answered ${result.status}`, { flow_run_id: runId });
  return false;
}

/**
 * The messages a worker holds, claimed in batches: every message held goes into the next batch, one batch in flight
 * at a time; while it is, the messages that arrive wait for the next one. A message is held once a slot is free for it
 * and keeps it until settled, so that the worker never holds more than `claims` messages, those of the batch in flight
 * included (each holds a run until its lease ends: a worker should hold no more than it can start); a slot that comes
 * free goes to the highest-priority queue waiting.
 */
class BatchClaimer {
  private held: Held[] = [];
  private inFlight: Promise<void> | null = null;
  private sendScheduled = false;
  private stopped = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly subject: string,
    private readonly slots: HeldSlots,
    private readonly onClaimed: () => void,
  ) {}

  /** Holds the message of a queue of this priority until its claim is answered; waits for a free slot first. */
  async hold(message: JsMsg, priority: number): Promise<void> {
    await this.slots.acquire(priority);
    if (this.stopped) {
      this.giveBack(message);
      return;
    }
    // What to claim comes from the message's id; what to run, from the claim's answer (the body is only a hint).
    const publication = message.headers?.get('Nats-Msg-Id') ?? '';
    const claim = { flow_run_id: publication.split(':')[0], publication, transition_id: randomUUID() };
    this.held.push({ message, claim, priority });
    this.scheduleSend();
  }

  /**
   * Gives back the messages held and not sent yet (and those still waiting for a slot, as they get one), and waits
   * for the batch in flight to be settled.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const { message } of this.held.splice(0)) this.giveBack(message);
    await this.inFlight;
  }

  private giveBack(message: JsMsg): void {
    message.nak();
    this.slots.release();
  }

  private scheduleSend(): void {
    if (this.sendScheduled || this.inFlight) return;
    this.sendScheduled = true;
    // Messages already pulled reach `hold` within this turn of the event loop: they join this batch.
    setImmediate(() => {
      this.sendScheduled = false;
      this.send();
    });
  }

  private send(): void {
    if (this.stopped || this.inFlight || this.held.length === 0) return;
    const batch = this.held.splice(0).sort((a, b) => a.priority - b.priority);
    this.inFlight = claimUntilAnswered(this.nc, this.subject, batch)
      .then((answers) => {
        const claimed = batch.filter((held, i) => settle(held, answers[i]));
        if (claimed.length > 0) this.onClaimed();
      })
      .catch((error: unknown) => {
        log('claims failed', { error: String(error) });
      })
      .finally(() => {
        this.inFlight = null;
        for (let i = 0; i < batch.length; i++) this.slots.release();
        this.scheduleSend();
      });
  }
}

/**
 * The queues' consumers, looked up once each (a lookup is a JetStream API request) and again only while one is
 * missing: the server creates a queue's consumer when it first publishes to it, under the same name ever after.
 */
class QueueConsumers {
  constructor(
    private readonly js: JetStreamClient,
    private readonly stream: string,
    private readonly consumerName: (queueId: string) => string,
  ) {}

  /** The queue's consumer, once it exists (null if `stopped` says to give up first). */
  async get(queueId: string, stopped: () => boolean): Promise<Consumer | null> {
    while (!stopped()) {
      const consumer = await this.js.consumers.get(this.stream, this.consumerName(queueId)).catch(() => null);
      if (consumer) return consumer;
      await sleep(1000); // nothing was ever published to this queue yet
    }
    return null;
  }
}

/** A worker's slots for messages held: a slot that comes free goes to the highest-priority queue waiting for one. */
class HeldSlots {
  private readonly waiting: { priority: number; grant: () => void }[] = [];

  constructor(private free: number) {}

  acquire(priority: number): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return Promise.resolve();
    }
    return new Promise((grant) => {
      this.waiting.push({ priority, grant });
      this.waiting.sort((a, b) => a.priority - b.priority);
    });
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next.grant();
    else this.free++;
  }
}

async function main(): Promise<void> {
  if (!args.pool) throw new Error('--pool NAME is required');
  const config = loadConfig({
    ...process.env,
    ...(args.nats && { NATS_URL: args.nats }),
    ...(args.namespace && { NATS_NAMESPACE: args.namespace }),
  });
  const names = natsNames(config.nats.namespace);
  const pool = await api<{ id: string }>(`/work_pools/${encodeURIComponent(args.pool)}`);
  const queues = (await api<Queue[]>(`/work_pools/${encodeURIComponent(args.pool)}/queues/filter`, {})).sort(
    (a, b) => a.priority - b.priority,
  );
  // Replies come to an inbox of the pool's own, the only one a pool's worker may subscribe to (docs/nats-workers.md).
  const nc = await connect({
    ...natsConnectionOptions(config.nats),
    name: args.name,
    inboxPrefix: `_INBOX_${pool.id}`,
  });
  const js = jetstream(nc);
  const consumers = new QueueConsumers(js, names.poolStream(pool.id), names.queueConsumer);
  const claims = Math.min(MAX_CLAIMS_PER_REQUEST, Math.max(1, Number(args.claims)));
  const subscriptions: ConsumerMessages[] = [];
  let stopping = false;
  const claimer = new BatchClaimer(nc, names.claims(pool.id), new HeldSlots(claims), () => {
    if (args.once) stop();
  });
  const stop = () => {
    stopping = true;
    subscriptions.forEach((messages) => void messages.close());
    void claimer.stop();
  };
  log('started', { pool: args.pool, queues: queues.map((q) => q.name) });
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  /**
   * One long-lived pull per queue (a pull per message costs a subscription and a request each time), buffering at
   * most about `claims` messages beyond those held; a message is held once a slot is free for its queue.
   */
  const serve = async (queue: Queue) => {
    const consumer = await consumers.get(queue.id, () => stopping);
    if (!consumer) return;
    // Bound to the consumer: no consumer info requests while it pulls. Pulls expire after PULL_EXPIRES_MS (nats.js:
    // 30 s), so a pull the server lost (a consumer whose replicas were still electing a leader, say) is noticed by its
    // missed heartbeats (two of them, each half the expiry) and made again within seconds, not a minute.
    const messages = await consumer.consume({ max_messages: claims, bind: true, expires: PULL_EXPIRES_MS });
    subscriptions.push(messages);
    if (stopping) void messages.close();
    for await (const message of messages) {
      if (stopping) {
        message.nak();
        continue;
      }
      await claimer.hold(message, queue.priority);
    }
  };
  await Promise.all(queues.map(serve));
  await claimer.stop();
  await nc.drain();
  log('stopped');
}

main().catch((error: unknown) => {
  log('failed', { error: String(error) });
  process.exit(1);
});
