// What a poll costs the bus (apps/gateway/src/scheduled-runs/poll-session.ts, FlowRunBus.storedPerQueue): one request
// tells which of the pool's queues hold messages, so an idle poll makes that request alone whatever the number of
// queues, and a poll with runs on one queue pulls that queue only.
import { NatsClient } from '@app/messaging';
import { Fixtures, runIds, Sql, waitFor } from '../support/delivery';
import { TestGateway } from '../support/gateway';
import { TestScheduler } from '../support/scheduler';

const POLL = (pool: string) => `/work_pools/${pool}/get_scheduled_flow_runs`;
/** The stock worker's poll: every queue of the pool, runs due within its 10 s prefetch. */
const stock = () => ({ scheduled_before: new Date(Date.now() + 10_000).toISOString() });

describe('the bus requests of a poll', () => {
  let gw: TestGateway;
  let scheduler: TestScheduler;
  let sql: Sql;
  let fixtures: Fixtures;

  beforeAll(async () => {
    gw = await TestGateway.start({ LOG_LEVEL: 'warn' });
    scheduler = await TestScheduler.start(gw.config);
    sql = await Sql.connect(gw.config.db.url);
    fixtures = await Fixtures.create(gw);
  });
  afterAll(async () => {
    await sql?.end();
    await scheduler?.stop();
    await gw?.stop();
  });

  /** The JetStream API requests the gateway sends while `work` runs (pulls, stream and consumer management). */
  async function jetStreamRequests(work: () => Promise<void>): Promise<string[]> {
    const connection = gw.app.get(NatsClient).connection;
    const publish = jest.spyOn(connection, 'publish');
    try {
      await work();
      return publish.mock.calls.map(([subject]) => subject).filter((subject) => subject.startsWith('$JS.API.'));
    } finally {
      publish.mockRestore();
    }
  }

  /** A pool with `queues` queues (its default one included), each polled once already. */
  async function poolWithQueues(name: string, queues: number): Promise<string[]> {
    await fixtures.pool(name);
    const names = ['default'];
    for (let i = 1; i < queues; i++) {
      await fixtures.queue(name, `q${i}`, { priority: i + 1 });
      names.push(`q${i}`);
    }
    expect((await gw.post(POLL(name), stock())).body).toEqual([]);
    return names;
  }

  it.each([1, 8])('an idle poll of a pool with %i queue(s) makes one bus request', async (queues) => {
    const pool = `idle-${queues}`;
    await poolWithQueues(pool, queues);
    const polls = 5;
    const requests = await jetStreamRequests(async () => {
      for (let i = 0; i < polls; i++) expect((await gw.post(POLL(pool), stock())).body).toEqual([]);
    });
    expect(requests).toHaveLength(polls);
  });

  it('a poll of 8 queues with a run on the last one pulls that queue alone', async () => {
    const pool = 'one-busy';
    const queues = await poolWithQueues(pool, 8);
    const run = await fixtures.run(pool, queues[7]);
    await waitFor('the run published', () => sql.isDispatched(run.id));
    let handedOut: string[] = [];
    const requests = await jetStreamRequests(async () => {
      handedOut = runIds(await gw.post(POLL(pool), stock()));
    });
    expect(handedOut).toEqual([run.id]);
    // The count, then the one pull (its consumer is ensured before this gateway's first pull of the queue, once).
    const reads = requests.filter((subject) => !subject.startsWith('$JS.API.CONSUMER.CREATE.'));
    expect(reads).toHaveLength(2);
    expect(reads.filter((subject) => subject.startsWith('$JS.API.CONSUMER.MSG.NEXT.'))).toHaveLength(1);
  });
});
