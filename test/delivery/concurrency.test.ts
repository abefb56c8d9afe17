import { natsNames, OrchestrationResult, WorkerFlowRunResponse } from '@app/contracts';
import { STATUS_HEADER } from '@app/messaging';
import { Consumer, jetstream } from '@nats-io/jetstream';
import { connect, NatsConnection } from '@nats-io/transport-node';
import { randomUUID } from 'node:crypto';
import { Api, Fixtures, GatewayProcess, inSeconds, sleep, Sql, waitFor } from '../support/delivery';
import { TestGateway } from '../support/gateway';
import { TestScheduler } from '../support/scheduler';

/**
 * I2, I5 and I9 at once: HTTP pollers on two gateway replicas (one in-process, one a real process on the same
 * database and namespace) and NATS-native workers (raw JetStream clients on the queue consumers, claiming over
 * `<ns>.api.flow-runs.claim.<pool id>` as docs/nats-workers.md says) drain ~200 runs of one pool whose queues and pool have
 * concurrency limits. Every holder claims what it receives and completes it after a short random delay, freeing
 * its slot. Over the whole drain: every run is delivered and completed; no run is held by two holders at once
 * (a NATS worker that gets WAIT gives the run back before anyone else may receive it); no claim is ABORTed; and
 * PENDING + RUNNING + leased never exceeds a limit, both in Postgres sampled in a tight loop and in the holders' log.
 */
const LEASE_SECONDS = 15;
const POOL_LIMIT = 8;
const QUEUES = [
  { name: 'default', priority: 1, limit: 2, runs: 50 },
  { name: 'mid', priority: 2, limit: 3, runs: 50 },
  { name: 'bulk', priority: 3, limit: null, runs: 100 },
];
const TOTAL = QUEUES.reduce((sum, queue) => sum + queue.runs, 0);
const CREATED_DURING_DRAIN = 50;
const DRAIN_DEADLINE_MS = 45_000;
const HTTP_POLLERS_PER_GATEWAY = 2;
const NATS_WORKERS = 3;

jest.setTimeout(90_000);

type EventKind = 'receive' | 'release' | 'accept' | 'abort' | 'completing' | 'completed';
interface HolderEvent {
  kind: EventKind;
  runId: string;
  queueId: string;
  holder: string;
  at: number;
  detail?: string;
}

const randomInt = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1));

describe('I2/I5/I9: HTTP pollers on two replicas and NATS workers drain one limited pool', () => {
  let gw: TestGateway;
  let replica: GatewayProcess;
  let scheduler: TestScheduler;
  let sql: Sql;
  const connections: NatsConnection[] = [];

  beforeAll(async () => {
    // Late marking is off here: a run turned Late while on the bus is its own case (the next describe block).
    gw = await TestGateway.start({
      DELIVERY_LEASE_SECONDS: String(LEASE_SECONDS),
      DISPATCH_INTERVAL_MS: '200',
      LOG_LEVEL: 'error',
      LATE_RUNS_ENABLED: 'false',
    });
    scheduler = await TestScheduler.start(gw.config);
    replica = await GatewayProcess.start(gw.config);
    sql = await Sql.connect(gw.config.db.url);
  });
  afterAll(async () => {
    await Promise.all(connections.map((nc) => nc.close()));
    await sql?.end();
    await replica?.stop();
    await scheduler?.stop();
    await gw?.stop();
  });

  it(`every run delivered and completed once, no double holder, no limit exceeded (${TOTAL} runs)`, async () => {
    const fx = await Fixtures.create(gw);
    const poolId = await fx.pool('shared', { concurrency_limit: POOL_LIMIT });
    expect((await gw.patch('/work_pools/shared/queues/default', { concurrency_limit: QUEUES[0].limit })).status).toBe(
      204,
    );
    const queueIds = new Map<string, string>([
      ['default', (await gw.get('/work_pools/shared/queues/default')).body.id],
    ]);
    for (const queue of QUEUES.slice(1)) {
      queueIds.set(
        queue.name,
        await fx.queue('shared', queue.name, { priority: queue.priority, concurrency_limit: queue.limit }),
      );
    }
    const limitOf = new Map(QUEUES.map((queue) => [queueIds.get(queue.name)!, queue.limit]));

    // Runs due now, round-robin over the queues; most exist before the drain starts, the rest arrive during it.
    const plan = QUEUES.flatMap((queue) =>
      Array.from({ length: queue.runs }, (_, i) => ({ queue: queue.name, i })),
    ).sort((a, b) => a.i - b.i);
    const runIds: string[] = [];
    const createRuns = async (count: number) => {
      for (const { queue } of plan.splice(0, count)) runIds.push((await fx.run('shared', queue, -randomInt(0, 60))).id);
    };
    await createRuns(TOTAL - CREATED_DURING_DRAIN);
    await waitFor('the first runs on the bus', () => sql.allDispatched(runIds), 20_000);

    const events: HolderEvent[] = [];
    const log = (kind: EventKind, runId: string, queueId: string, holder: string, detail?: string): void => {
      events.push({ kind, runId, queueId, holder, at: Date.now(), detail });
    };
    const completed = new Set<string>();
    const inFlight = new Set<Promise<void>>();
    const track = (work: Promise<void>) => {
      inFlight.add(work);
      void work.finally(() => inFlight.delete(work));
    };
    let draining = true;

    /** What a worker does with a claimed run: start it (RUNNING), finish it (COMPLETED), each after a short while. */
    const runToCompletion = async (runId: string, queueId: string, holder: string) => {
      await sleep(randomInt(5, 40));
      const running = await gw.post(`/flow_runs/${runId}/set_state`, { state: { type: 'RUNNING' } });
      if (running.body.status !== 'ACCEPT') log('abort', runId, queueId, holder, `RUNNING: ${running.text}`);
      await sleep(randomInt(0, 20));
      log('completing', runId, queueId, holder);
      const done = await gw.post(`/flow_runs/${runId}/set_state`, { state: { type: 'COMPLETED' } });
      if (done.body.status !== 'ACCEPT') log('abort', runId, queueId, holder, `COMPLETED: ${done.text}`);
      log('completed', runId, queueId, holder);
      completed.add(runId);
    };

    const httpPoller = async (api: Api, holder: string) => {
      while (draining) {
        const response = await api.request('POST', '/work_pools/shared/get_scheduled_flow_runs', {
          scheduled_before: inSeconds(10),
          limit: randomInt(1, 5),
        });
        if (response.status !== 200) throw new Error(`${holder}: poll answered ${response.status} ${response.text}`);
        for (const offer of response.body as WorkerFlowRunResponse[]) {
          log('receive', offer.flow_run.id, offer.work_queue_id, holder);
          track(
            (async () => {
              const claim = await api.request('POST', `/flow_runs/${offer.flow_run.id}/set_state`, {
                state: { type: 'PENDING' },
              });
              if (claim.body.status !== 'ACCEPT') {
                log('abort', offer.flow_run.id, offer.work_queue_id, holder, claim.text);
                return;
              }
              log('accept', offer.flow_run.id, offer.work_queue_id, holder);
              await runToCompletion(offer.flow_run.id, offer.work_queue_id, holder);
            })(),
          );
        }
        await sleep(randomInt(0, 15));
      }
    };

    const names = natsNames(gw.config.nats.namespace);
    const natsWorker = async (holder: string) => {
      const nc = await connect({ servers: gw.config.nats.url, name: holder });
      connections.push(nc);
      const js = jetstream(nc);
      const consumers: Consumer[] = [];
      for (const queue of QUEUES) {
        consumers.push(
          await js.consumers.get(names.poolStream(poolId), names.queueConsumer(queueIds.get(queue.name)!)),
        );
      }
      while (draining) {
        // Higher-priority queues first, as the example worker does.
        for (const consumer of consumers) {
          const message = await consumer.next({ expires: 1000 }).catch(() => null);
          if (!message) continue;
          const offer = message.json<WorkerFlowRunResponse>();
          const { id: runId } = offer.flow_run;
          log('receive', runId, offer.work_queue_id, holder);
          // As docs/nats-workers.md says: an unanswered claim is resent as it was, with backoff.
          const request = JSON.stringify({
            flow_run_id: runId,
            publication: message.headers?.get('Nats-Msg-Id'),
            transition_id: randomUUID(),
          });
          let reply = null;
          for (let wait = 100; !reply && draining; wait = Math.min(wait * 2, 2000)) {
            reply = await nc.request(names.claim(poolId), request, { timeout: 5000 }).catch(() => null);
            if (!reply) await sleep(wait);
          }
          const result =
            reply && Number(reply.headers?.get(STATUS_HEADER)) < 400 ? reply.json<OrchestrationResult>() : null;
          if (result?.status === 'ACCEPT') {
            message.ack();
            log('accept', runId, offer.work_queue_id, holder);
            track(runToCompletion(runId, offer.work_queue_id, holder));
          } else if (result?.status === 'WAIT' || result === null) {
            // Given back: recorded before the nak, so anyone receiving it next receives it after this moment.
            log('release', runId, offer.work_queue_id, holder, result ? 'WAIT' : 'no reply');
            message.nak(result?.details.type === 'wait_details' ? result.details.delay_seconds * 1000 : 0);
          } else {
            log('abort', runId, offer.work_queue_id, holder, reply?.string());
            message.term();
          }
          break;
        }
      }
    };

    // Postgres sampled in a tight loop: slots held per queue (PENDING + RUNNING + leased and unclaimed).
    const samples: { at: number; busy: Map<string, number> }[] = [];
    const sampler = (async () => {
      while (draining) {
        const rows = await sql.query<{ work_queue_id: string; busy: number }>(
          `SELECT work_queue_id, count(*)::int AS busy FROM flow_run
            WHERE work_queue_id = ANY($1)
              AND (state_type IN ('PENDING', 'RUNNING') OR (state_type = 'SCHEDULED' AND leased_until > now()))
            GROUP BY work_queue_id`,
          [[...queueIds.values()]],
        );
        samples.push({ at: Date.now(), busy: new Map(rows.map((row) => [row.work_queue_id, row.busy])) });
      }
    })();

    const startedAt = Date.now();
    const holders = [
      ...Array.from({ length: HTTP_POLLERS_PER_GATEWAY }, (_, i) => httpPoller(gw, `http-in-process-${i}`)),
      ...Array.from({ length: HTTP_POLLERS_PER_GATEWAY }, (_, i) => httpPoller(replica, `http-replica-${i}`)),
      ...Array.from({ length: NATS_WORKERS }, (_, i) => natsWorker(`nats-${i}`)),
    ];
    const failed = Promise.all(holders).then(
      () => null,
      (error: unknown) => error,
    );
    await createRuns(CREATED_DURING_DRAIN);
    const drained = await Promise.race([
      waitFor('every run completed', () => Promise.resolve(completed.size === TOTAL), DRAIN_DEADLINE_MS, 50).then(
        () => null,
        (error: unknown) => error,
      ),
      failed,
    ]);
    const drainMs = Date.now() - startedAt;
    draining = false;
    await Promise.all([failed, sampler]);
    await Promise.all([...inFlight]);

    const byRun = new Map<string, HolderEvent[]>();
    for (const event of [...events].sort((a, b) => a.at - b.at)) {
      byRun.set(event.runId, [...(byRun.get(event.runId) ?? []), event]);
    }

    // I2/I9: a run is received again only after its previous holder gave it back (never while held or claimed).
    const doubleHolders: string[] = [];
    for (const [runId, runEvents] of byRun) {
      let holder: string | null = null;
      for (const event of runEvents) {
        if (event.kind === 'receive') {
          if (holder !== null) doubleHolders.push(`${runId}: ${event.holder} received it while ${holder} held it`);
          holder = event.holder;
        } else if (event.kind === 'release') {
          holder = null;
        }
      }
    }

    // I5 from the holders' log: a run occupies a slot from the moment its holder knew it had it (HTTP: response
    // received, the lease was committed before; NATS: ACCEPT received) until the moment it asked to complete it.
    // Both ends lie inside the true occupation, so any excess found here is a real one.
    const intervals = [...byRun.values()].flatMap((runEvents) => {
      const start = runEvents.find(
        (e) =>
          (e.kind === 'receive' && e.holder.startsWith('http')) || (e.kind === 'accept' && e.holder.startsWith('nats')),
      );
      const end = runEvents.find((e) => e.kind === 'completing');
      return start && end ? [{ queueId: start.queueId, start: start.at, end: end.at }] : [];
    });
    const logExcess: string[] = [];
    for (const { start } of intervals) {
      const active = intervals.filter((other) => other.start <= start && other.end > start);
      if (active.length > POOL_LIMIT) logExcess.push(`pool: ${active.length} at ${start - startedAt} ms`);
      for (const [queueId, limit] of limitOf) {
        const inQueue = active.filter((other) => other.queueId === queueId).length;
        if (limit !== null && inQueue > limit) {
          logExcess.push(`queue ${queueId}: ${inQueue} at ${start - startedAt} ms`);
        }
      }
    }

    const sampleExcess = samples.flatMap(({ at, busy }) => {
      const total = [...busy.values()].reduce((sum, n) => sum + n, 0);
      const excess = total > POOL_LIMIT ? [`pool: ${total} at ${at - startedAt} ms`] : [];
      for (const [queueId, limit] of limitOf) {
        if (limit !== null && (busy.get(queueId) ?? 0) > limit) {
          excess.push(`queue ${queueId}: ${busy.get(queueId)} at ${at - startedAt} ms`);
        }
      }
      return excess;
    });

    const aborts = events
      .filter((event) => event.kind === 'abort')
      .map((event) => `${event.runId} (${event.holder}): ${event.detail}`);
    const acceptedBy = (prefix: string) =>
      events.filter((event) => event.kind === 'accept' && event.holder.startsWith(prefix)).length;
    const waits = events.filter((event) => event.kind === 'release').length;
    const [states] = await sql.query<{ completed: number }>(
      `SELECT count(*)::int AS completed FROM flow_run WHERE id = ANY($1) AND state_type = 'COMPLETED'`,
      [runIds],
    );
    const peak = samples.reduce(
      (max, { busy }) =>
        Math.max(
          max,
          [...busy.values()].reduce((sum, n) => sum + n, 0),
        ),
      0,
    );
    process.stdout.write(
      `concurrency drain: ${TOTAL} runs in ${drainMs} ms (${((TOTAL * 1000) / drainMs).toFixed(1)} runs/s); claimed over HTTP in-process ${acceptedBy('http-in-process')}, ` +
        `HTTP replica ${acceptedBy('http-replica')}, NATS ${acceptedBy('nats')}; NATS WAITs given back ${waits}; ${samples.length} Postgres samples, peak pool occupancy ${peak}/${POOL_LIMIT}\n`,
    );

    expect(drained).toBeNull();
    expect(states.completed).toBe(TOTAL);
    expect(doubleHolders).toEqual([]);
    expect(aborts).toEqual([]);
    expect(sampleExcess).toEqual([]);
    expect(logExcess).toEqual([]);
    expect(samples.length).toBeGreaterThan(100);
    // The drain really went through every path: both replicas' pollers and the NATS workers each claimed runs.
    expect(acceptedBy('http-in-process')).toBeGreaterThan(0);
    expect(acceptedBy('http-replica')).toBeGreaterThan(0);
    expect(acceptedBy('nats')).toBeGreaterThan(0);
  });
});

describe('I2/I9: a run marked Late while its message waits on the bus', () => {
  let gw: TestGateway;
  let scheduler: TestScheduler;
  let sql: Sql;
  let nc: NatsConnection;

  beforeAll(async () => {
    gw = await TestGateway.start({ DISPATCH_INTERVAL_MS: '200', LOG_LEVEL: 'error' });
    scheduler = await TestScheduler.start(gw.config);
    sql = await Sql.connect(gw.config.db.url);
    nc = await connect({ servers: gw.config.nats.url });
  });
  afterAll(async () => {
    await nc?.close();
    await sql?.end();
    await scheduler?.stop();
    await gw?.stop();
  });

  it('reaches one NATS worker, not two', async () => {
    // Due 10 s ago: published as Scheduled at once, then (15 s past its start) the late-runs service proposes Late,
    // a new state of the same run. Whatever the bus holds then, two workers taking from the queue's consumer
    // must not both receive the run while neither has settled it.
    const fx = await Fixtures.create(gw);
    const poolId = await fx.pool('late');
    const run = await fx.run('late', null, -10);
    await waitFor('the run on the bus as Scheduled', () => sql.isDispatched(run.id));
    await waitFor(
      'the run marked Late and on the bus as Late',
      async () => (await gw.get(`/flow_runs/${run.id}`)).body.state_name === 'Late' && (await sql.isDispatched(run.id)),
      20_000,
      100,
    );

    const names = natsNames(gw.config.nats.namespace);
    const consumer = await jetstream(nc).consumers.get(
      names.poolStream(poolId),
      names.queueConsumer(run.work_queue_id),
    );
    const first = await consumer.next({ expires: 1000 });
    const second = await consumer.next({ expires: 1000 });
    const received = [first, second].flatMap((message) =>
      message ? [message.json<WorkerFlowRunResponse>().flow_run.id] : [],
    );
    expect(received).toEqual([run.id]);
  });
});
