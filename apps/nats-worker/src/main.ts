// An example of a worker that takes flow runs straight from NATS instead of polling over HTTP
// (docs/nats-workers.md). It claims each run, settles the message as the claim's answer says, and logs what it
// would start.
//   npm run worker:nats -- --pool NAME [--api http://127.0.0.1:4200/api] [--nats nats://127.0.0.1:4222]
//                                      [--namespace prefect] [--name my-worker] [--once] [--claim-timeout-ms 5000]
//                                      [--claims 1]
// --claims is how many messages it claims at once (a lane that comes free goes to the highest-priority queue with a
// message waiting); a real worker would bound it by how many runs it can start.
// It connects as the apps do, with NATS_CREDS, NATS_TOKEN, NATS_USER/NATS_PASSWORD and NATS_TLS_* from the environment
// (--nats and --namespace override NATS_URL and NATS_NAMESPACE), and to the HTTP API with Prefect's client setting
// PREFECT_API_AUTH_STRING when the gateway requires basic auth.
import { loadConfig } from '@app/config';
import { ClaimFlowRunReply, natsNames } from '@app/contracts';
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

/** Resending an unanswered claim: the first wait, doubled each time up to the cap. */
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

type Answer = { status: number; result: ClaimFlowRunReply | null; text: string };

/**
 * Sends the claim until the gateway answers it. A claim whose answer was lost may have been committed: giving the
 * message back then would leave the run PENDING with nobody to run it, so the same claim (same transition id) is
 * resent, with backoff, and the gateway recognises it if it won.
 */
async function claimUntilAnswered(
  nc: NatsConnection,
  subject: string,
  request: string,
  runId: string,
): Promise<Answer> {
  for (let wait = FIRST_RESEND_MS; ; wait = Math.min(wait * 2, MAX_RESEND_MS)) {
    try {
      const reply = await nc.request(subject, request, { timeout: Number(args['claim-timeout-ms']) });
      const status = Number(reply.headers?.get(STATUS_HEADER) ?? 0);
      if (status > 0 && status < 500) {
        return { status, result: status < 400 ? reply.json<ClaimFlowRunReply>() : null, text: reply.string() };
      }
      log('claim failed on the server; resending it', { flow_run_id: runId, status, retry_in_ms: wait });
    } catch (error) {
      log('claim unanswered; resending it', { flow_run_id: runId, error: String(error), retry_in_ms: wait });
    }
    await sleep(wait);
  }
}

/** Claims the run behind a message over NATS, then settles the message as docs/nats-workers.md says. */
async function handle(nc: NatsConnection, claimSubject: string, message: JsMsg): Promise<boolean> {
  // What to claim comes from the message's id; what to run, from the claim's answer (the body is only a hint).
  const publication = message.headers?.get('Nats-Msg-Id') ?? '';
  const runId = publication.split(':')[0];
  const transitionId = randomUUID();
  const request = JSON.stringify({ flow_run_id: runId, publication, transition_id: transitionId });
  const { status, result, text } = await claimUntilAnswered(nc, claimSubject, request, runId);
  if (!result) {
    log('claim refused', { flow_run_id: runId, status, body: text });
    message.term();
    return false;
  }
  if (result.run) {
    message.ack();
    const { flow_run: run, work_queue_id: queueId } = result.run;
    log('claimed flow run; a real worker would start it now', {
      flow_run_id: run.id,
      name: run.name,
      queue: queueId,
      transition_id: transitionId,
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

/** The claims a worker makes at once: a lane that comes free goes to the highest-priority queue waiting for one. */
class Lanes {
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
  const claims = Math.max(1, Number(args.claims));
  const lanes = new Lanes(claims);
  const subscriptions: ConsumerMessages[] = [];
  const inFlight = new Set<Promise<void>>();
  log('started', { pool: args.pool, queues: queues.map((q) => q.name) });
  let stopping = false;
  const stop = () => {
    stopping = true;
    subscriptions.forEach((messages) => void messages.close());
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  /**
   * One long-lived pull per queue (a pull per message costs a subscription and a request each time), holding at
   * most `claims` messages beyond those being claimed; a message is claimed once a lane is free for its queue.
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
      await lanes.acquire(queue.priority);
      if (stopping) {
        message.nak();
        lanes.release();
        continue;
      }
      const work = handle(nc, names.claim(pool.id), message).then(
        (claimed) => {
          if (args.once && claimed) stop();
        },
        (error: unknown) => {
          log('claim failed', { error: String(error) });
        },
      );
      inFlight.add(work);
      void work.finally(() => {
        inFlight.delete(work);
        lanes.release();
      });
    }
  };
  await Promise.all(queues.map(serve));
  await Promise.all([...inFlight]);
  await nc.drain();
  log('stopped');
}

main().catch((error: unknown) => {
  log('failed', { error: String(error) });
  process.exit(1);
});
