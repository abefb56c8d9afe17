import { AppConfig } from '@app/config';
import { NatsNames, WorkerFlowRunResponse } from '@app/contracts';
import type { RunPublication } from '@app/domain';
import { Injectable, Logger } from '@nestjs/common';
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  jetstream,
  JetStreamApiError,
  JetStreamClient,
  JetStreamManager,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { createInbox, headers, nuid, TimeoutError } from '@nats-io/transport-node';
import { outgoing } from './message-body';
import { NatsClient } from './nats-connection';
import { isNatsUnavailable, NatsUnavailableError } from './nats-errors';

const NANOS_PER_MS = 1_000_000;
/** JetStream drops a re-publish with the same `Nats-Msg-Id` within this window (a crashed dispatcher's retry). */
const DUPLICATE_WINDOW_MS = 120_000;
/**
 * A no-wait pull is answered within a millisecond or two. nats-server 2.9 can leave one unanswered when it races
 * a purge of the same subject (seen right after pausing a queue), and nobody answers a pull on a consumer that no
 * longer exists; this bounds both rare cases.
 */
const PULL_REPLY_TIMEOUT_MS = 500;
/** How long an unanswered pull waits to learn whether its consumer is gone, before taking it for there. */
const GONE_CHECK_TIMEOUT_MS = 500;
/** How long a stream whose replicas were changed may take to elect a leader and bring its new replicas up to date. */
const SCALE_WAIT_MS = 15_000;

/**
 * The run's `next_scheduled_start_time` (ISO 8601), fixed for a publication: a run whose time changes changes state
 * and is published again. A poll can thus put back a run outside its window without asking Postgres.
 */
export const SCHEDULED_TIME_HEADER = 'Prefect-Scheduled-Time';

/** The `Nats-Msg-Id` a publication goes out under. */
export function messageId(publication: RunPublication): string {
  return `${publication.runId}:${publication.stateId}:${publication.epoch}`;
}

export function parseMessageId(id: string | undefined): RunPublication | null {
  const match = /^([0-9a-f-]{36}):([0-9a-f-]{36}):(\d+)$/.exec(id ?? '');
  return match ? { runId: match[1], stateId: match[2], epoch: Number(match[3]) } : null;
}

/** A message pulled from a queue's consumer, not yet settled. */
export interface PulledRun {
  publication: RunPublication | null;
  /** From {@link SCHEDULED_TIME_HEADER}; null when the publisher set none. */
  scheduledTime: Date | null;
  body: Uint8Array;
  /** The JetStream ack subject; settling publishes to it. */
  ackSubject: string;
}

/** What JetStream stored for one publication. */
export interface Publication {
  duplicate: boolean;
  /** The stream sequence the message is stored under. */
  seq: number;
}

/**
 * JetStream as the transport for due flow runs: a WorkQueue stream per pool, a subject and a durable pull
 * consumer per queue (AckWait = the delivery lease, unlimited redelivery). Postgres stays the source of truth;
 * a message is a hint that a run may be due. Streams and consumers are created on first use and remembered,
 * so the poll path makes no management calls; a publish or pull that finds them gone (deleted, or lost by a
 * server while this process stayed connected) forgets them and re-creates them at once.
 */
@Injectable()
export class FlowRunBus {
  private readonly logger = new Logger(FlowRunBus.name);
  private readonly names: NatsNames;
  private readonly js: JetStreamClient;
  private jsm?: Promise<JetStreamManager>;
  private readonly ensuredStreams = new Map<string, Promise<void>>();
  private readonly ensuredConsumers = new Map<string, Promise<void>>();
  /** The pool of each queue whose consumer was ensured, to forget them all with their stream. */
  private readonly consumerPools = new Map<string, string>();
  private readonly inboxPrefix: string;

  constructor(
    private readonly nats: NatsClient,
    private readonly config: AppConfig,
  ) {
    this.names = nats.names;
    this.js = jetstream(nats.connection);
    this.inboxPrefix = createInbox();
    // A restarted server may have lost streams and consumers: check again on next use. Replicated ones outlive any
    // one server, and checking them at once would wait out the leader election that follows a node's loss.
    if (config.nats.streamReplicas === 1) {
      nats.onReconnect(() => {
        this.ensuredStreams.clear();
        this.ensuredConsumers.clear();
      });
    }
  }

  private manager(): Promise<JetStreamManager> {
    // A failed attempt (JetStream unreachable at that moment) must not be remembered.
    this.jsm ??= jetstreamManager(this.nats.connection).catch((error: unknown) => {
      this.jsm = undefined;
      throw error;
    });
    return this.jsm;
  }

  /** Creates the pool's stream if missing (idempotent; remembered per process). */
  ensurePoolStream(poolId: string): Promise<void> {
    let ensured = this.ensuredStreams.get(poolId);
    if (!ensured) {
      ensured = this.createStream(poolId);
      this.ensuredStreams.set(poolId, ensured);
      ensured.catch(() => this.ensuredStreams.delete(poolId));
    }
    return ensured;
  }

  private async createStream(poolId: string): Promise<void> {
    const jsm = await this.manager();
    const replicas = this.config.nats.streamReplicas;
    const config = {
      name: this.names.poolStream(poolId),
      subjects: [this.names.poolSubjects(poolId)],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      duplicate_window: DUPLICATE_WINDOW_MS * NANOS_PER_MS,
      num_replicas: replicas,
    };
    try {
      await jsm.streams.add(config);
    } catch (error) {
      // Already there (another process created it, or an older deployment with other replicas).
      if (!(error instanceof JetStreamApiError)) throw error;
      const existing = await jsm.streams.info(config.name);
      if (existing.config.num_replicas === replicas) return;
      // Re-created, the stream would lose the runs waiting on it; JetStream re-replicates it in place instead.
      this.logger.log(`scaling stream ${config.name} from ${existing.config.num_replicas} to ${replicas} replicas`);
      await jsm.streams.update(config.name, { ...existing.config, num_replicas: replicas });
      await this.untilStreamServes(jsm, config.name, replicas);
    }
  }

  /**
   * A stream whose replicas just changed forms a new group and elects its leader; until then nobody answers a
   * publish to it. Waits for the leader and every replica, bounded: past the bound the next use checks again.
   */
  private async untilStreamServes(jsm: JetStreamManager, name: string, replicas: number): Promise<void> {
    const deadline = Date.now() + SCALE_WAIT_MS;
    for (;;) {
      const info = await jsm.streams.info(name);
      const current = (info.cluster?.replicas ?? []).filter((replica) => replica.current).length;
      if (info.cluster?.leader && current >= replicas - 1) return;
      if (Date.now() > deadline) throw new Error(`stream ${name} has no leader with ${replicas} replicas yet`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Creates the queue's durable consumer (and the pool stream) if missing; remembered per process. */
  ensureQueueConsumer(poolId: string, queueId: string): Promise<void> {
    let ensured = this.ensuredConsumers.get(queueId);
    if (!ensured) {
      ensured = this.createConsumer(poolId, queueId);
      this.ensuredConsumers.set(queueId, ensured);
      this.consumerPools.set(queueId, poolId);
      ensured.catch(() => this.ensuredConsumers.delete(queueId));
    }
    return ensured;
  }

  private async createConsumer(poolId: string, queueId: string): Promise<void> {
    await this.ensurePoolStream(poolId);
    const jsm = await this.manager();
    const stream = this.names.poolStream(poolId);
    const config = {
      durable_name: this.names.queueConsumer(queueId),
      filter_subject: this.names.queueSubject(poolId, queueId),
      ack_policy: AckPolicy.Explicit,
      ack_wait: this.config.dispatch.leaseSeconds * 1000 * NANOS_PER_MS,
      max_deliver: -1,
      max_ack_pending: 100_000,
      deliver_policy: DeliverPolicy.All,
      // As many as its stream: a consumer on fewer servers would lose its delivery state with one of them.
      num_replicas: this.config.nats.streamReplicas,
    };
    try {
      await jsm.consumers.add(stream, config);
    } catch (error) {
      if (!(error instanceof JetStreamApiError)) throw error;
      // Created earlier with other replicas: updated in place, keeping which messages are delivered and acked.
      const existing = await jsm.consumers.info(stream, config.durable_name);
      if (existing.config.num_replicas === config.num_replicas) return;
      this.logger.log(`scaling consumer ${config.durable_name} to ${config.num_replicas} replicas`);
      await jsm.consumers.update(stream, config.durable_name, {
        ...existing.config,
        num_replicas: config.num_replicas,
      });
    }
  }

  /** Forgets that the queue's consumer and its pool's stream exist, so their next use creates them again. */
  private forgetQueue(poolId: string, queueId: string): void {
    this.ensuredStreams.delete(poolId);
    this.ensuredConsumers.delete(queueId);
  }

  /** Forgets the pool's stream and every consumer on it (a stream takes its consumers with it). */
  private forgetPool(poolId: string): void {
    this.ensuredStreams.delete(poolId);
    for (const [queueId, pool] of this.consumerPools) {
      if (pool === poolId) this.ensuredConsumers.delete(queueId);
    }
  }

  /**
   * Publishes one run onto its queue's subject and waits for JetStream to store it. The message id makes a
   * re-publish of the same (run, state, epoch) a no-op inside the duplicate window.
   */
  async publish(
    poolId: string,
    queueId: string,
    publication: RunPublication,
    run: WorkerFlowRunResponse,
    scheduledTime: Date | null = null,
  ): Promise<Publication> {
    const { subject, body } = outgoing(this.names.queueSubject(poolId, queueId), run);
    const messageHeaders = headers();
    if (scheduledTime) messageHeaders.set(SCHEDULED_TIME_HEADER, scheduledTime.toISOString());
    const send = async () => {
      await this.ensureQueueConsumer(poolId, queueId);
      const ack = await this.js.publish(subject, body, { msgID: messageId(publication), headers: messageHeaders });
      return { duplicate: ack.duplicate, seq: ack.seq };
    };
    try {
      return await send();
    } catch (error) {
      // No stream listens on the subject any more: create it (and the consumer) again and publish once more.
      if (!isNoResponders(error)) throw error;
      this.logger.warn(`the stream of pool ${poolId} is gone; creating it again`);
      this.forgetQueue(poolId, queueId);
      return send();
    }
  }

  /**
   * How many messages each of the pool's queues holds (waiting, or delivered and not acked yet), by queue id, in one
   * request to the stream whatever the number of queues: a poll pulls only from queues that hold some, so an idle
   * poll costs this request alone. Asked afresh each time (a run published a moment ago counts). Null when it cannot
   * be told at once (the stream is gone, or did not answer in time, as while a cluster elects its leader): the caller
   * then pulls every queue, which re-creates whatever is missing.
   */
  async storedPerQueue(poolId: string): Promise<Map<string, number> | null> {
    if (!this.nats.isConnected) throw new NatsUnavailableError('NATS is disconnected');
    await this.ensurePoolStream(poolId);
    const filter = this.names.poolSubjects(poolId);
    let reply: StreamSubjectsReply;
    try {
      const message = await this.nats.connection.request(
        `$JS.API.STREAM.INFO.${this.names.poolStream(poolId)}`,
        JSON.stringify({ subjects_filter: filter }),
        { timeout: PULL_REPLY_TIMEOUT_MS },
      );
      reply = message.json<StreamSubjectsReply>();
    } catch (error) {
      if (error instanceof TimeoutError && this.nats.isConnected) return null;
      if (!isNatsUnavailable(error)) throw error;
      // No responders: JetStream is not serving (yet), or lost the stream with the server's store.
      this.forgetPool(poolId);
      throw new NatsUnavailableError(`JetStream did not answer for pool ${poolId}`, { cause: error });
    }
    if (reply.error) {
      if (reply.error.code === 503) throw new NatsUnavailableError(`JetStream did not answer for pool ${poolId}`);
      if (reply.error.code === 404) {
        this.logger.warn(`the stream of pool ${poolId} is gone; creating it again`);
        this.forgetPool(poolId);
      }
      return null;
    }
    // Subjects are `<prefix><queue id>`; an empty stream lists none.
    const prefix = filter.slice(0, -1);
    const stored = new Map<string, number>();
    for (const [subject, count] of Object.entries(reply.state?.subjects ?? {})) {
      if (subject.startsWith(prefix)) stored.set(subject.slice(prefix.length), count);
    }
    return stored;
  }

  /**
   * Pulls up to `batch` messages of one queue without waiting for more to arrive (a raw JetStream pull with
   * `no_wait`: the client's `fetch` would wait out its `expires` on a batch it cannot fill).
   */
  async pullNow(poolId: string, queueId: string, batch: number): Promise<PulledRun[]> {
    if (batch <= 0) return [];
    // Disconnected, the pull would be queued and then dropped: the poll would answer [] with runs waiting.
    if (!this.nats.isConnected) throw new NatsUnavailableError('NATS is disconnected');
    const { messages, answered } = await this.pullOnce(poolId, queueId, batch);
    if (answered) return messages;
    // Unanswered: the consumer (or its whole stream) may be gone. Then it is forgotten, created again, pulled again.
    // A consumer that is gone is reported gone at once; one that does not answer is electing a leader (a cluster
    // node was lost) and is there: the poll does not wait out the management API's timeout for it.
    const gone = await Promise.race([
      this.queueBacklog(poolId, queueId).then(
        (backlog) => backlog === null,
        () => false,
      ),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), GONE_CHECK_TIMEOUT_MS).unref()),
    ]);
    if (!gone) return messages;
    this.logger.warn(`the consumer of queue ${queueId} is gone; creating it again`);
    return (await this.pullOnce(poolId, queueId, batch)).messages;
  }

  private async pullOnce(
    poolId: string,
    queueId: string,
    batch: number,
  ): Promise<{ messages: PulledRun[]; answered: boolean }> {
    await this.ensureQueueConsumer(poolId, queueId);
    // Pulled messages arrive under their own subject, so each pull gets its own inbox subscription.
    const inbox = `${this.inboxPrefix}.${nuid.next()}`;
    return new Promise((resolve, reject) => {
      const messages: PulledRun[] = [];
      let answered = false;
      const finish = (error?: Error) => {
        clearTimeout(timer);
        subscription.unsubscribe();
        if (error) reject(error);
        else resolve({ messages, answered });
      };
      const subscription = this.nats.connection.subscribe(inbox, {
        callback: (error, msg) => {
          answered = true;
          const status = msg?.headers?.code ?? 0;
          if (!error && status === 0 && msg.reply) {
            messages.push({
              publication: parseMessageId(msg.headers?.get('Nats-Msg-Id')),
              scheduledTime: parseScheduledTime(msg.headers?.get(SCHEDULED_TIME_HEADER)),
              body: msg.data,
              ackSubject: msg.reply,
            });
            if (messages.length < batch) return;
          }
          // An error, a status (404 no messages, 408 request expired, 409 ...) or a full batch ends the pull.
          // 503 (no responders: JetStream not serving yet, or the consumer lost with the server's store) fails
          // it, and both are checked again on next use.
          if (status === 503) {
            this.forgetQueue(poolId, queueId);
            return finish(new NatsUnavailableError(`JetStream did not answer a pull on queue ${queueId}`));
          }
          finish();
        },
      });
      const timer = setTimeout(() => {
        // Unanswered because the connection was lost meanwhile: the pull was dropped, not answered "none".
        if (!this.nats.isConnected) {
          return finish(new NatsUnavailableError(`NATS disconnected during a pull on queue ${queueId}`));
        }
        this.logger.warn(`pull on queue ${queueId} got no reply within ${PULL_REPLY_TIMEOUT_MS} ms`);
        finish();
      }, PULL_REPLY_TIMEOUT_MS);
      this.nats.connection.publish(
        `$JS.API.CONSUMER.MSG.NEXT.${this.names.poolStream(poolId)}.${this.names.queueConsumer(queueId)}`,
        JSON.stringify({ batch, no_wait: true }),
        { reply: inbox },
      );
    });
  }

  /** Done with this message for good. Not awaited: an ack lost in transit only causes a harmless redelivery. */
  ack(message: PulledRun): void {
    this.nats.connection.publish(message.ackSubject, '+ACK');
  }

  /** Make the message available again, at once or after `delayMs`. */
  nak(message: PulledRun, delayMs = 0): void {
    this.nats.connection.publish(
      message.ackSubject,
      delayMs > 0 ? `-NAK ${JSON.stringify({ delay: delayMs * NANOS_PER_MS })}` : '-NAK',
    );
  }

  /** The message is stale (the run changed, left the queue or was deleted): never redeliver it. */
  term(message: PulledRun): void {
    this.nats.connection.publish(message.ackSubject, '+TERM');
  }

  /** Removes every message of one queue (paused queue, deleted queue). */
  async purgeQueue(poolId: string, queueId: string): Promise<void> {
    const jsm = await this.manager();
    await jsm.streams
      .purge(this.names.poolStream(poolId), { filter: this.names.queueSubject(poolId, queueId) })
      .catch(ignoreMissing);
  }

  /** Removes every message of a pool (paused pool). */
  async purgePool(poolId: string): Promise<void> {
    const jsm = await this.manager();
    await jsm.streams.purge(this.names.poolStream(poolId)).catch(ignoreMissing);
  }

  async deleteQueue(poolId: string, queueId: string): Promise<void> {
    const jsm = await this.manager();
    this.ensuredConsumers.delete(queueId);
    this.consumerPools.delete(queueId);
    await jsm.consumers.delete(this.names.poolStream(poolId), this.names.queueConsumer(queueId)).catch(ignoreMissing);
    await this.purgeQueue(poolId, queueId);
  }

  /**
   * How many messages the queue's consumer holds (waiting, or delivered and not acked yet), or null when the
   * consumer or its stream does not exist (then both are forgotten, so their next use creates them again).
   */
  async queueBacklog(poolId: string, queueId: string): Promise<number | null> {
    const jsm = await this.manager();
    try {
      const info = await jsm.consumers.info(this.names.poolStream(poolId), this.names.queueConsumer(queueId));
      return info.num_pending + info.num_ack_pending;
    } catch (error) {
      if (!(error instanceof JetStreamApiError && error.status === 404)) throw error;
      this.forgetQueue(poolId, queueId);
      return null;
    }
  }

  /** The publication stored under `seq` in the pool's stream, or null when that message (or the stream) is gone. */
  async storedPublication(poolId: string, seq: number): Promise<RunPublication | null> {
    const jsm = await this.manager();
    const message = await jsm.streams.getMessage(this.names.poolStream(poolId), { seq }).catch((error: unknown) => {
      ignoreMissing(error);
      return null;
    });
    return message ? parseMessageId(message.header.get('Nats-Msg-Id')) : null;
  }

  async deletePool(poolId: string): Promise<void> {
    const jsm = await this.manager();
    this.ensuredStreams.delete(poolId);
    await jsm.streams.delete(this.names.poolStream(poolId)).catch(ignoreMissing);
  }
}

/** The part of `$JS.API.STREAM.INFO`'s answer a {@link FlowRunBus.storedPerQueue} reads. */
interface StreamSubjectsReply {
  error?: { code: number; description?: string };
  state?: { subjects?: Record<string, number> };
}

/** JetStream maps a request nobody answered (no stream on the subject) to this error. */
function isNoResponders(error: unknown): boolean {
  return error instanceof Error && error.name === 'JetStreamNotEnabled';
}

function parseScheduledTime(value: string | undefined): Date | null {
  const time = value ? Date.parse(value) : NaN;
  return Number.isNaN(time) ? null : new Date(time);
}

function ignoreMissing(error: unknown): void {
  if (error instanceof JetStreamApiError && error.status === 404) return;
  throw error;
}
