import { natsNames } from '@app/contracts';
import { STATUS_HEADER } from '@app/messaging';
import { jetstream, JsMsg } from '@nats-io/jetstream';
import { connect, NatsConnection } from '@nats-io/transport-node';
import { randomUUID } from 'node:crypto';
import { sleep, Sql, waitFor } from '../support/delivery';
import { TestGateway } from '../support/gateway';
import { TestScheduler } from '../support/scheduler';

/** A worker that takes runs straight from NATS and claims them over NATS (I9, I10), against the real apps. */
const LEASE_SECONDS = 2;
jest.setTimeout(30_000);

describe('NATS-native workers', () => {
  let gw: TestGateway;
  let scheduler: TestScheduler;
  let nc: NatsConnection;
  let sql: Sql;
  let flowId: string;
  const names = () => natsNames(gw.config.nats.namespace);

  beforeAll(async () => {
    gw = await TestGateway.start({ DELIVERY_LEASE_SECONDS: String(LEASE_SECONDS), DISPATCH_INTERVAL_MS: '100' });
    scheduler = await TestScheduler.start(gw.config);
    nc = await connect({ servers: gw.config.nats.url });
    sql = await Sql.connect(gw.config.db.url);
    flowId = (await gw.post('/flows/', { name: 'nats' })).body.id;
  });
  afterAll(async () => {
    await sql.end();
    await nc.close();
    await scheduler.stop();
    await gw.stop();
  });

  async function poolWithRun(pool: string, queueLimit: number | null = null) {
    const created = await gw.post('/work_pools/', { name: pool, type: 'process' });
    if (queueLimit !== null) await gw.patch(`/work_pools/${pool}/queues/default`, { concurrency_limit: queueLimit });
    const run = await gw.post('/flow_runs/', { flow_id: flowId, work_pool_name: pool, state: { type: 'SCHEDULED' } });
    return {
      poolId: created.body.id as string,
      queueId: run.body.work_queue_id as string,
      runId: run.body.id as string,
    };
  }

  /** The next message of the queue, pulled as a worker pulls. */
  async function message(poolId: string, queueId: string, timeoutMs = 5000): Promise<JsMsg> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const consumer = await jetstream(nc)
        .consumers.get(names().poolStream(poolId), names().queueConsumer(queueId))
        .catch(() => null);
      const next = consumer && (await consumer.next({ expires: 1000 }));
      if (next) return next;
      await sleep(20);
    }
    throw new Error('no message on the bus');
  }

  /** A request to the gateway over NATS: the reply's status, and its body. */
  async function ask(subject: string, body: object) {
    const reply = await nc.request(subject, JSON.stringify(body), { timeout: 5000 });
    return { status: Number(reply.headers?.get(STATUS_HEADER)), body: reply.json<any>() };
  }
  const claim = (poolId: string, body: object) => ask(names().claim(poolId), body);
  /** A batch claim: the reply's status, and its answers (or its error body). */
  const claimBatch = (poolId: string, body: object) => ask(names().claims(poolId), body);

  /** Each answer is its claim's ACCEPT, with the run to execute as the database has it, to the last column. */
  async function expectWon(
    answers: { status: number; body: any }[],
    requests: { flow_run_id: string; transition_id: string }[],
    poolId: string,
  ) {
    answers.forEach((answer, i) => {
      expect(answer).toMatchObject({
        status: 201,
        body: {
          status: 'ACCEPT',
          state: { type: 'PENDING', state_details: { transition_id: requests[i].transition_id } },
          run: { work_pool_id: poolId, flow_run: { id: requests[i].flow_run_id, state_type: 'PENDING' } },
        },
      });
    });
    for (const answer of answers) {
      const { estimated_run_time: _r, estimated_start_time_delta: _d, ...answered } = answer.body.run.flow_run;
      const { body: row } = await gw.get(`/flow_runs/${answered.id}`);
      expect(answered).toEqual(
        Object.fromEntries(Object.keys(answered).map((key) => [key, key === 'state' ? null : row[key]])),
      );
    }
  }

  /** The claim of the run a message stands for, as docs/nats-workers.md builds it. */
  const claimOf = (held: JsMsg, transitionId = randomUUID()) => {
    const publication = held.headers?.get('Nats-Msg-Id') ?? '';
    return { flow_run_id: publication.split(':')[0], publication, transition_id: transitionId };
  };

  /** The run's current publication as the database records it. */
  async function currentPublication(runId: string): Promise<string> {
    const [row] = await sql.query<{ state_id: string; dispatch_epoch: number }>(
      'SELECT state_id, dispatch_epoch FROM flow_run WHERE id = $1',
      [runId],
    );
    return `${runId}:${row.state_id}:${row.dispatch_epoch}`;
  }

  it('receives exactly one WorkerFlowRunResponse per run, claims it over NATS and gets the run to execute from the row', async () => {
    const { poolId, queueId, runId } = await poolWithRun('n1');
    const held = await message(poolId, queueId);
    const offer = held.json<any>();
    expect(Object.keys(offer).sort()).toEqual(['flow_run', 'work_pool_id', 'work_queue_id']);
    expect(offer).toMatchObject({ work_pool_id: poolId, work_queue_id: queueId, flow_run: { id: runId, state: null } });

    // While this worker holds the message, an HTTP poll does not get the run (I9).
    expect((await gw.post('/work_pools/n1/get_scheduled_flow_runs', {})).body).toEqual([]);

    const request = claimOf(held);
    const first = await claim(poolId, request);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      status: 'ACCEPT',
      state: { type: 'PENDING', state_details: { transition_id: request.transition_id } },
      run: {
        work_pool_id: poolId,
        work_queue_id: queueId,
        flow_run: { id: runId, state_type: 'PENDING', state: null },
      },
    });
    held.ack();
  });

  it('answers the claimer that resends its winning claim as a duplicate, with the run; any other claim is refused', async () => {
    const { poolId, queueId, runId } = await poolWithRun('n5');
    const request = claimOf(await message(poolId, queueId));
    expect((await claim(poolId, request)).body.status).toBe('ACCEPT');

    const resent = await claim(poolId, request);
    expect(resent).toMatchObject({
      status: 200,
      body: {
        status: 'REJECT',
        state: { type: 'PENDING', state_details: { transition_id: request.transition_id } },
        details: { type: 'reject_details', reason: 'This run has already made this state transition.' },
        run: { work_pool_id: poolId, flow_run: { id: runId, state_type: 'PENDING' } },
      },
    });
    const other = await claim(poolId, { ...request, transition_id: randomUUID() });
    expect(other).toMatchObject({ status: 200, body: { status: 'ABORT', state: { type: 'PENDING' } } });
    expect(other.body.run).toBeUndefined();
    expect((await sql.query('SELECT id FROM flow_run_state WHERE flow_run_id = $1', [runId])).length).toBe(2);
  });

  it('answers claims with Prefect error shapes', async () => {
    const { poolId, runId } = await poolWithRun('n0');
    const unknown = '00000000-0000-0000-0000-000000000000';
    expect(
      await claim(poolId, {
        flow_run_id: unknown,
        publication: `${unknown}:${unknown}:1`,
        transition_id: randomUUID(),
      }),
    ).toEqual({
      status: 404,
      body: { exception_message: `Flow run with id ${unknown} not found` },
    });
    const invalid = await claim(poolId, { flow_run_id: 'nope' });
    expect(invalid.status).toBe(422);
    expect(invalid.body.exception_message).toBe('Invalid request received.');
    // A message of one run does not claim another.
    const mismatched = await claim(poolId, {
      flow_run_id: runId,
      publication: `${unknown}:${unknown}:1`,
      transition_id: randomUUID(),
    });
    expect(mismatched.status).toBe(422);
    expect(mismatched.body.exception_detail).toEqual([expect.objectContaining({ loc: ['body', 'publication'] })]);
  });

  it('refuses, as if it did not exist, a run of another pool or of none (I10)', async () => {
    const mine = await poolWithRun('n3');
    const theirs = await poolWithRun('n4');
    const poolless = (await gw.post('/flow_runs/', { flow_id: flowId, state: { type: 'SCHEDULED' } })).body
      .id as string;
    for (const runId of [theirs.runId, poolless]) {
      const forged = { flow_run_id: runId, publication: await currentPublication(runId), transition_id: randomUUID() };
      expect(await claim(mine.poolId, forged)).toEqual({
        status: 404,
        body: { exception_message: `Flow run with id ${runId} not found` },
      });
    }
    // Only the pool's id as stored names it: another spelling of it, or no id at all, names no pool.
    const request = {
      flow_run_id: theirs.runId,
      publication: await currentPublication(theirs.runId),
      transition_id: randomUUID(),
    };
    for (const subjectPool of [theirs.poolId.toUpperCase(), 'not-a-pool']) {
      expect(await claim(subjectPool, request)).toEqual({
        status: 404,
        body: { exception_message: `Flow run with id ${theirs.runId} not found` },
      });
    }
    expect((await gw.get(`/flow_runs/${theirs.runId}`)).body.state_type).toBe('SCHEDULED');
    expect(await claim(theirs.poolId, claimOf(await message(theirs.poolId, theirs.queueId)))).toMatchObject({
      status: 201,
      body: { status: 'ACCEPT' },
    });
  });

  it('refuses a stale message (the run was published again since) and a run an HTTP poller holds', async () => {
    const { poolId, queueId, runId } = await poolWithRun('n6');
    // A poller takes the run (once the scheduler has published it) and never claims it; while its lease runs, no
    // NATS claim gets the run.
    let polled: unknown[] = [];
    await waitFor(
      'the run handed to a poller',
      async () => (polled = (await gw.post('/work_pools/n6/get_scheduled_flow_runs', {})).body).length > 0,
    );
    expect(polled).toHaveLength(1);
    const leased = await currentPublication(runId);
    const refused = await claim(poolId, { flow_run_id: runId, publication: leased, transition_id: randomUUID() });
    expect(refused).toMatchObject({
      status: 200,
      body: { status: 'ABORT', state: { type: 'SCHEDULED' }, details: { type: 'abort_details' } },
    });

    // The lease runs out: the run is published again, in a new epoch; the message of the old one is stale.
    const republished = await message(poolId, queueId, (LEASE_SECONDS + 3) * 1000);
    expect(republished.headers?.get('Nats-Msg-Id')).not.toBe(leased);
    expect(await claim(poolId, { flow_run_id: runId, publication: leased, transition_id: randomUUID() })).toMatchObject(
      { body: { status: 'ABORT' } },
    );
    expect(await claim(poolId, claimOf(republished))).toMatchObject({ status: 201, body: { status: 'ACCEPT' } });
    republished.ack();
  });

  it('a worker that never answers its message holds the run for the lease, not longer', async () => {
    const { poolId, queueId, runId } = await poolWithRun('n7');
    const silent = await message(poolId, queueId);
    const heldAt = Date.now();
    // Another worker pulls all along: it receives the run once the lease ran out, not before...
    const redelivered = await message(poolId, queueId, (LEASE_SECONDS + 3) * 1000);
    const waited = Date.now() - heldAt;
    process.stdout.write(`${JSON.stringify({ leaseMs: LEASE_SECONDS * 1000, silentWorkerLostRunAfterMs: waited })}\n`);
    expect(waited).toBeGreaterThanOrEqual(LEASE_SECONDS * 1000 - 100);
    expect(waited).toBeLessThan(LEASE_SECONDS * 1000 + 1500);
    // ...the same publication, still claimable.
    expect(redelivered.headers?.get('Nats-Msg-Id')).toBe(silent.headers?.get('Nats-Msg-Id'));
    expect(await claim(poolId, claimOf(redelivered))).toMatchObject({
      status: 201,
      body: { status: 'ACCEPT', run: { flow_run: { id: runId } } },
    });
    redelivered.ack();
  });

  it('claims of a pool without limits never wait for its slots; where a limit counts them, a claim waits its turn', async () => {
    const { poolId, queueId } = await poolWithRun('n8');
    await gw.post('/flow_runs/', { flow_id: flowId, work_pool_name: 'n8', state: { type: 'SCHEDULED' } });
    const held = [await message(poolId, queueId), await message(poolId, queueId)];
    const limited = await poolWithRun('n9', 5);
    const limitedHeld = await message(limited.poolId, limited.queueId);
    // Another transaction holds both pools' slots lock, as a poll of a limited pool does while it leases.
    const holder = await Sql.connect(gw.config.db.url);
    try {
      await holder.query('BEGIN');
      for (const id of [poolId, limited.poolId]) {
        await holder.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [id]);
      }
      const answers = await Promise.all(held.map((m) => claim(poolId, claimOf(m))));
      expect(answers.map((answer) => answer.body.status)).toEqual(['ACCEPT', 'ACCEPT']);
      // The run answered is the row as written, to the last column.
      for (const answer of answers) {
        const { estimated_run_time: _r, estimated_start_time_delta: _d, ...answered } = answer.body.run.flow_run;
        const { body: row } = await gw.get(`/flow_runs/${answered.id}`);
        expect(answered).toEqual(
          Object.fromEntries(Object.keys(answered).map((key) => [key, key === 'state' ? null : row[key]])),
        );
      }

      let answered = false;
      const waiting = claim(limited.poolId, claimOf(limitedHeld)).then((answer) => ((answered = true), answer));
      await sleep(500);
      expect(answered).toBe(false);
      await holder.query('COMMIT');
      expect((await waiting).body.status).toBe('ACCEPT');
    } finally {
      await holder.query('ROLLBACK').catch(() => null);
      await holder.end();
    }
    held.forEach((m) => m.ack());
    limitedHeld.ack();
  });

  it('commits concurrent claims of a pool without limits in fewer transactions than claims, each answered as if alone', async () => {
    const { poolId, queueId } = await poolWithRun('n10');
    const count = 16;
    for (let i = 1; i < count; i++) {
      await gw.post('/flow_runs/', { flow_id: flowId, work_pool_name: 'n10', state: { type: 'SCHEDULED' } });
    }
    const held: JsMsg[] = [];
    for (let i = 0; i < count; i++) held.push(await message(poolId, queueId));
    const requests = held.map((m) => claimOf(m));
    // Among them, claims the batch must refuse as a claim alone is refused: a run of another pool, a stale message.
    const theirs = await poolWithRun('n11');
    const forged = {
      flow_run_id: theirs.runId,
      publication: await currentPublication(theirs.runId),
      transition_id: randomUUID(),
    };
    const stale = {
      ...requests[0],
      publication: `${requests[0].flow_run_id}:${randomUUID()}:0`,
      transition_id: randomUUID(),
    };

    const spy = jest.spyOn(gw.db, 'transaction');
    let answers, refused;
    try {
      [answers, refused] = await Promise.all([
        Promise.all(requests.map((request) => claim(poolId, request))),
        Promise.all([claim(poolId, forged), claim(poolId, stale)]),
      ]);
      expect(spy.mock.calls.length).toBeLessThan(count / 2);
    } finally {
      spy.mockRestore();
    }
    await expectWon(answers, requests, poolId);
    expect(refused[0]).toEqual({
      status: 404,
      body: { exception_message: `Flow run with id ${theirs.runId} not found` },
    });
    expect(refused[1]).toMatchObject({ status: 200, body: { status: 'ABORT', details: { type: 'abort_details' } } });
    expect((await gw.get(`/flow_runs/${theirs.runId}`)).body.state_type).toBe('SCHEDULED');
    // A resent claim that won, batched with others, still gets its run.
    const [resent] = await Promise.all([claim(poolId, requests[1]), claim(poolId, requests[2])]);
    expect(resent).toMatchObject({
      status: 200,
      body: { status: 'REJECT', run: { flow_run: { id: requests[1].flow_run_id } } },
    });
    held.forEach((m) => m.ack());
  });

  describe("a batch claim on the pool's claims subject", () => {
    /** `count` runs of a new pool, their messages held. */
    async function heldRuns(pool: string, count: number) {
      const { poolId, queueId } = await poolWithRun(pool);
      for (let i = 1; i < count; i++) {
        await gw.post('/flow_runs/', { flow_id: flowId, work_pool_name: pool, state: { type: 'SCHEDULED' } });
      }
      const held: JsMsg[] = [];
      for (let i = 0; i < count; i++) held.push(await message(poolId, queueId));
      return { poolId, queueId, held };
    }

    it('answers each claim in order as it would be answered alone, in fewer transactions than claims; resent, each is recognised', async () => {
      const count = 12;
      const { poolId, held } = await heldRuns('b1', count + 1);
      const requests = held.slice(0, count).map((m) => claimOf(m));
      // Among them, claims refused as alone: a run of another pool, and a message that is no longer its run's delivery.
      const theirs = await poolWithRun('b2');
      const forged = {
        flow_run_id: theirs.runId,
        publication: await currentPublication(theirs.runId),
        transition_id: randomUUID(),
      };
      const staleRun = claimOf(held[count]).flow_run_id;
      const stale = {
        flow_run_id: staleRun,
        publication: `${staleRun}:${randomUUID()}:0`,
        transition_id: randomUUID(),
      };
      const batch = { claims: [...requests.slice(0, 4), forged, ...requests.slice(4, 8), stale, ...requests.slice(8)] };

      const spy = jest.spyOn(gw.db, 'transaction');
      let reply;
      try {
        reply = await claimBatch(poolId, batch);
        expect(spy.mock.calls.length).toBeLessThan(count / 2);
      } finally {
        spy.mockRestore();
      }
      expect(reply.status).toBe(200);
      expect(Object.keys(reply.body)).toEqual(['answers']);
      const answers: { status: number; body: any }[] = reply.body.answers;
      expect(answers).toHaveLength(batch.claims.length);
      expect(answers[4]).toEqual({
        status: 404,
        body: { exception_message: `Flow run with id ${theirs.runId} not found` },
      });
      expect(answers[9]).toMatchObject({
        status: 200,
        body: { status: 'ABORT', state: { type: 'SCHEDULED' }, details: { type: 'abort_details' } },
      });
      const won = answers.filter((_answer, i) => i !== 4 && i !== 9);
      await expectWon(won, requests, poolId);
      expect((await gw.get(`/flow_runs/${theirs.runId}`)).body.state_type).toBe('SCHEDULED');
      expect((await gw.get(`/flow_runs/${staleRun}`)).body.state_type).toBe('SCHEDULED');

      // The same batch resent (its reply was lost): each claim that won is recognised, with its run; nothing is written.
      const resent = await claimBatch(poolId, batch);
      expect(resent.status).toBe(200);
      expect(resent.body.answers[4].status).toBe(404);
      expect(resent.body.answers[9].body.status).toBe('ABORT');
      resent.body.answers
        .filter((_answer: unknown, i: number) => i !== 4 && i !== 9)
        .forEach((answer: { status: number; body: any }, i: number) => {
          expect(answer).toMatchObject({
            status: 200,
            body: {
              status: 'REJECT',
              state: { type: 'PENDING', state_details: { transition_id: requests[i].transition_id } },
              details: { type: 'reject_details', reason: 'This run has already made this state transition.' },
              run: { work_pool_id: poolId, flow_run: { id: requests[i].flow_run_id } },
            },
          });
        });
      const [states] = await sql.query<{ count: number }>(
        'SELECT count(*)::int AS count FROM flow_run_state WHERE flow_run_id = ANY($1)',
        [requests.map((request) => request.flow_run_id)],
      );
      expect(states.count).toBe(2 * count);
      held.forEach((m) => m.ack());
    });

    it('refuses a malformed batch whole (422, pydantic shape), claiming none of it', async () => {
      const { poolId, held } = await heldRuns('b3', 2);
      const [good, other] = held.map((m) => claimOf(m));
      const unknown = '00000000-0000-0000-0000-000000000000';
      const refusals: [object, object[]][] = [
        [{}, [{ type: 'missing', loc: ['body', 'claims'] }]],
        [{ claims: good }, [{ type: 'list_type', loc: ['body', 'claims'] }]],
        [{ claims: [] }, [{ type: 'too_short', loc: ['body', 'claims'] }]],
        [
          { claims: Array.from({ length: 257 }, () => ({ ...good, flow_run_id: randomUUID() })) },
          [
            {
              type: 'too_long',
              loc: ['body', 'claims'],
              ctx: { field_type: 'List', max_length: 256, actual_length: 257 },
            },
          ],
        ],
        [
          { claims: [good, { ...good, transition_id: randomUUID() }] },
          [{ type: 'value_error', loc: ['body', 'claims'] }],
        ],
        [
          { claims: [good, { ...other, flow_run_id: 'nope' }] },
          [{ type: 'uuid_parsing', loc: ['body', 'claims', 1, 'flow_run_id'] }],
        ],
        [{ claims: [good], extra: true }, [{ type: 'extra_forbidden', loc: ['body', 'extra'] }]],
        // A message of one run does not claim another.
        [
          { claims: [good, { ...other, publication: `${unknown}:${unknown}:1` }] },
          [{ type: 'value_error', loc: ['body', 'claims', 1, 'publication'] }],
        ],
      ];
      for (const [body, errors] of refusals) {
        const refused = await claimBatch(poolId, body);
        expect(refused.status).toBe(422);
        expect(refused.body).toMatchObject({ exception_message: 'Invalid request received.', request_body: body });
        expect(refused.body.exception_detail).toEqual(errors.map((error) => expect.objectContaining(error)));
      }
      for (const request of [good, other]) {
        expect((await gw.get(`/flow_runs/${request.flow_run_id}`)).body.state_type).toBe('SCHEDULED');
      }
      expect((await claimBatch(poolId, { claims: [good, other] })).body.answers.map((a: any) => a.body.status)).toEqual(
        ['ACCEPT', 'ACCEPT'],
      );
      held.forEach((m) => m.ack());
    });

    it('answers WAIT for a claim of a queue with no free slot, and the others of the batch still win', async () => {
      const limited = await poolWithRun('b4', 1);
      const busy = await gw.post('/flow_runs/', { flow_id: flowId, work_pool_name: 'b4', state: { type: 'RUNNING' } });
      expect(busy.body.state_type).toBe('RUNNING');
      await gw.post('/work_pools/b4/queues/', { name: 'free' });
      const free = await gw.post('/flow_runs/', {
        flow_id: flowId,
        work_pool_name: 'b4',
        work_queue_name: 'free',
        state: { type: 'SCHEDULED' },
      });
      const waiting = await message(limited.poolId, limited.queueId);
      const freeHeld = await message(limited.poolId, free.body.work_queue_id as string);
      const answers = (await claimBatch(limited.poolId, { claims: [claimOf(waiting), claimOf(freeHeld)] })).body
        .answers;
      expect(answers).toMatchObject([
        { status: 200, body: { status: 'WAIT', details: { type: 'wait_details', delay_seconds: 1 } } },
        { status: 201, body: { status: 'ACCEPT', run: { flow_run: { id: free.body.id } } } },
      ]);
      expect((await gw.get(`/flow_runs/${limited.runId}`)).body.state_type).toBe('SCHEDULED');
      waiting.nak();
      freeHeld.ack();
    });
  });

  it('makes a NATS claim WAIT when the queue has no free slot (I5 without a lease)', async () => {
    const { poolId, queueId, runId } = await poolWithRun('n2', 1);
    const busy = await gw.post('/flow_runs/', { flow_id: flowId, work_pool_name: 'n2', state: { type: 'RUNNING' } });
    expect(busy.body.state_type).toBe('RUNNING');
    const held = await message(poolId, queueId);
    const waited = await claim(poolId, claimOf(held));
    expect(waited).toMatchObject({
      status: 200,
      body: { status: 'WAIT', details: { type: 'wait_details', delay_seconds: 1 } },
    });
    expect((await gw.get(`/flow_runs/${runId}`)).body.state_type).toBe('SCHEDULED');

    await gw.post(`/flow_runs/${busy.body.id}/set_state`, { state: { type: 'COMPLETED' } });
    expect(await claim(poolId, claimOf(held))).toMatchObject({ status: 201, body: { status: 'ACCEPT' } });
    held.ack();
  });
});
