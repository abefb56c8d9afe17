import { CLAIM_SUBJECT_PREFIX, CLAIMS_SUBJECT_PREFIX } from './dto/claim.dto';
import { PrefectEvent } from './prefect/events';
import { WorkerFlowRunResponse } from './prefect/flow-run.responses';

declare const payloadType: unique symbol;

/**
 * A subject that carries one JSON body type, so that publishing and subscribing (`NatsClient.publish` and
 * `subscribe`) check the body against the subject. `undefined`: the message has no body.
 */
export type Subject<Payload> = string & { readonly [payloadType]: Payload };

function subject<Payload>(name: string): Subject<Payload> {
  return name as Subject<Payload>;
}

/**
 * Every NATS subject, stream and consumer name the system uses, in one place, derived from the namespace
 * (`NATS_NAMESPACE`) so that two installations can share one server. Ids, never names, appear in subjects:
 * names may hold characters a subject token cannot.
 *
 * Layout: one JetStream stream per work pool (WorkQueue retention), one subject per queue inside it, one
 * durable pull consumer per queue. A stream per pool keeps each stream's subject count small, which is what
 * keeps pulls fast on nats-server 2.9 (see docs/nats-workers.md).
 */
export function natsNames(namespace: string) {
  return {
    namespace,
    /** Stream holding the due runs of one pool. */
    poolStream: (poolId: string) => `${namespace}_runs_${poolId}`,
    /** All queue subjects of one pool (the stream's subject filter). */
    poolSubjects: (poolId: string) => `${namespace}.runs.${poolId}.*`,
    /** Due runs of one queue (JetStream). */
    queueSubject: (poolId: string, queueId: string) =>
      subject<WorkerFlowRunResponse>(`${namespace}.runs.${poolId}.${queueId}`),
    /** Durable pull consumer of one queue, shared by gateway replicas and NATS-native workers. */
    queueConsumer: (queueId: string) => `${namespace}_queue_${queueId}`,
    /** Core NATS: "something changed, look for due runs now". */
    dispatchWake: subject<DispatchWake>(`${namespace}.dispatch.wake`),
    /** Core NATS: runs were just put on a pool's subjects; wakes long polls. */
    poolDispatched: (poolId: string) => subject<PoolDispatched>(`${namespace}.dispatched.${poolId}`),
    /** Core NATS: a pool or one of its queues was paused, resumed or deleted; gateways drop what they cached of it. */
    poolChanged: (poolId: string) => subject<undefined>(`${namespace}.pool-changed.${poolId}`),
    /** Core NATS: an HTTP poll leased runs of a pool; held polls and the dispatcher learn when that lease ends. */
    poolLeased: (poolId: string) => subject<PoolLeased>(`${namespace}.leased.${poolId}`),
    /**
     * Request/reply served by the gateway: claim a run of this pool (SCHEDULED → PENDING) without HTTP. Per pool, so
     * that NATS permissions can confine a worker to its pool's claims.
     */
    claim: (poolId: string) => `${namespace}.${CLAIM_SUBJECT_PREFIX}.${poolId}`,
    /**
     * Request/reply served by the gateway: several claims of this pool's runs at once (`ClaimFlowRunsRequestDto`),
     * each answered as {@link claim} would answer it alone. Per pool, for the same reason.
     */
    claims: (poolId: string) => `${namespace}.${CLAIMS_SUBJECT_PREFIX}.${poolId}`,
    /** Every event, whatever its name (what `/api/events/out` streams from). */
    allEvents: subject<PrefectEvent>(`${namespace}.events.>`),
    /**
     * Prefect-named events, e.g. `prefect.work-queue.ready` → `<ns>.events.prefect.work-queue.ready`. State names
     * are free text: characters a subject cannot hold (spaces, wildcards, empty tokens) become `_`.
     */
    event: (eventName: string) =>
      subject<PrefectEvent>(
        `${namespace}.events.${eventName
          .split('.')
          .map((token) => token.replace(/[\s*>]/g, '_') || '_')
          .join('.')}`,
      ),
  } as const;
}
export type NatsNames = ReturnType<typeof natsNames>;

/** Body of {@link NatsNames.dispatchWake}: the pool whose runs changed, when known. */
export interface DispatchWake {
  work_pool_id?: string | null;
}

/** Body of {@link NatsNames.poolLeased}. */
export interface PoolLeased {
  /** ISO date-time the lease ends. */
  lease_until: string;
  /** The poller's `X-Prefect-Worker-Name`, if it sent one. */
  poller: string | null;
}

/** Body of {@link NatsNames.poolDispatched}. */
export interface PoolDispatched {
  work_queue_ids: string[];
}
