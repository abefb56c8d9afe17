// A poll that does not claim what it got (`prefect work-pool preview`, a stock worker whose `--limit` is full) must
// not hide those runs for long: Prefect's server shows them to the next poller. With the default settings, a run
// got and not claimed is back for another poller once the poll's lease ends (2 s + 0.3 s per run returned), before
// any stock worker polls twice (its PREFECT_WORKER_QUERY_SECONDS of 10 s, with Prefect's jitter, is never under
// 7.5 s), and not a moment earlier: a poll inside the lease gets none of them, so two workers polling at once never
// get the same run. A named worker (stock workers send X-Prefect-Worker-Name) polling inside another's lease is held
// until that lease ends and then gets what was left, so it does not wait for its own next poll.
import { pollLeaseMs } from '@app/domain';
import { TestGateway } from '../support/gateway';
import { expectOperation } from '../support/openapi';
import { TestScheduler } from '../support/scheduler';

const POLL = '/work_pools/{name}/get_scheduled_flow_runs';
/** The shortest gap between two polls of a stock worker: 10 s × Prefect's lower jitter clamp (0.7518). */
const STOCK_MIN_QUERY_GAP_MS = 7_500;
const inSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString();

describe('a run got and not claimed reaches another poller within the stock poll gap', () => {
  let gw: TestGateway;
  let scheduler: TestScheduler;
  let flowId: string;

  beforeAll(async () => {
    // Default delivery settings: the bound is about what a user gets out of the box.
    gw = await TestGateway.start({ LOG_LEVEL: 'warn' });
    scheduler = await TestScheduler.start(gw.config);
    flowId = (await gw.post('/flows/', { name: 'unclaimed' })).body.id;
  });
  afterAll(async () => {
    await scheduler.stop();
    await gw.stop();
  });

  async function dueRuns(pool: string, count: number): Promise<string[]> {
    await gw.post('/work_pools/', { name: pool, type: 'process' });
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const response = await gw.post('/flow_runs/', {
        flow_id: flowId,
        work_pool_name: pool,
        state: { type: 'SCHEDULED', state_details: { scheduled_time: inSeconds(0) } },
      });
      expect(response.status).toBe(201);
      ids.push(response.body.id);
    }
    // Every run on the bus before the first poll: each creation wakes the dispatcher, and a poll between two of its
    // passes would get only some of them.
    for (const deadline = Date.now() + 5_000; Date.now() < deadline;) {
      const rows = await Promise.all(ids.map((id) => gw.db.repos.flowRuns.findById(id)));
      if (rows.every((row) => row && row.dispatched_state_id === row.state_id)) return ids;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error('the runs created were not all published within 5 s');
  }

  const leaseMs = (runs: number) =>
    pollLeaseMs(runs, {
      claimWindowMs: gw.config.dispatch.claimWindowMs,
      perRunMs: gw.config.dispatch.claimWindowPerRunMs,
      maxSeconds: gw.config.dispatch.leaseSeconds,
    });
  const ids = (response: { body: { flow_run: { id: string } }[] }) => response.body.map((r) => r.flow_run.id).sort();

  /** Polls as a stock worker does until it gets runs; every answer before that must be empty. */
  async function secondPollerGets(pool: string, from: number): Promise<{ runIds: string[]; afterMs: number }> {
    const deadline = from + STOCK_MIN_QUERY_GAP_MS + 2_000;
    while (Date.now() < deadline) {
      const response = await gw.post(`/work_pools/${pool}/get_scheduled_flow_runs`, {
        scheduled_before: inSeconds(10),
      });
      expectOperation(response, 'POST', POLL, 200);
      if (response.body.length > 0) return { runIds: ids(response), afterMs: Date.now() - from };
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`the second poller got nothing within ${deadline - from} ms`);
  }

  it('a worker got 3 runs and claimed 1 (its --limit): the other 2 reach a second worker after the lease, within 7.5 s', async () => {
    const runIds = await dueRuns('limited', 3);
    let first: { body: { flow_run: { id: string } }[] } = { body: [] };
    const waitUntil = Date.now() + 5_000;
    while (first.body.length < 3 && Date.now() < waitUntil) {
      first = await gw.post('/work_pools/limited/get_scheduled_flow_runs', { scheduled_before: inSeconds(10) });
    }
    const polledAt = Date.now();
    expect(ids(first)).toEqual([...runIds].sort());
    const claimed = first.body[0].flow_run.id;
    expect((await gw.post(`/flow_runs/${claimed}/set_state`, { state: { type: 'PENDING' } })).body.status).toBe(
      'ACCEPT',
    );

    const second = await secondPollerGets('limited', polledAt);
    process.stdout.write(
      `${JSON.stringify({ case: 'limit', leaseMs: leaseMs(3), reachedSecondPollerAfterMs: second.afterMs })}\n`,
    );
    expect(second.runIds).toEqual(runIds.filter((id) => id !== claimed).sort());
    // Not before the lease ends (two pollers at once never share a run), and before a stock worker polls again.
    expect(second.afterMs).toBeGreaterThanOrEqual(leaseMs(3) - 50);
    expect(second.afterMs).toBeLessThan(STOCK_MIN_QUERY_GAP_MS);
    // The claimed run stays with its holder.
    expect((await gw.get(`/flow_runs/${claimed}`)).body.state_type).toBe('PENDING');
  }, 30_000);

  it('a full worker that polls again is shown what it left, without hiding it again from the other worker', async () => {
    const runIds = await dueRuns('full', 2);
    const poll = (worker: string) =>
      gw.request(
        'POST',
        '/work_pools/full/get_scheduled_flow_runs',
        { scheduled_before: inSeconds(10) },
        {
          'x-prefect-worker-name': worker,
        },
      );
    let first = { body: [] as { flow_run: { id: string } }[] };
    const waitUntil = Date.now() + 5_000;
    while (first.body.length < 2 && Date.now() < waitUntil) first = await poll('full-worker');
    expect(ids(first)).toEqual([...runIds].sort());
    // Its slots are taken: it claims nothing, and polls again once the lease has run out (a stock worker polls
    // every 7.5–13 s), as the other worker is about to.
    const again = await (async () => {
      const deadline = Date.now() + leaseMs(2) + 2_000;
      for (;;) {
        const response = await poll('full-worker');
        if (response.body.length > 0 || Date.now() > deadline) return response;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    expect(ids(again)).toEqual([...runIds].sort());
    // What the full worker was shown went back to the bus as its answer left (a nak the server applies a moment
    // later), so the other worker gets it at its next poll, in practice seconds later; here within a second.
    let other = await poll('other-worker');
    for (const retryUntil = Date.now() + 1_000; other.body.length === 0 && Date.now() < retryUntil;) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      other = await poll('other-worker');
    }
    const otherPolledAt = Date.now();
    expectOperation(other, 'POST', POLL, 200);
    expect(ids(other)).toEqual([...runIds].sort());
    // Now they are the other worker's: nobody else gets them within its lease. A nameless poll is answered empty at
    // once; a named worker that polls meanwhile is held until that lease ends, then gets what was left, as under
    // Prefect its poll would have.
    expect(
      (await gw.post('/work_pools/full/get_scheduled_flow_runs', { scheduled_before: inSeconds(10) })).body,
    ).toEqual([]);
    expect(Date.now() - otherPolledAt).toBeLessThan(leaseMs(2));
    const third = await poll('third-worker');
    const heldFor = Date.now() - otherPolledAt;
    process.stdout.write(`${JSON.stringify({ case: 'held', leaseMs: leaseMs(2), answeredAfterMs: heldFor })}\n`);
    expect(ids(third)).toEqual([...runIds].sort());
    expect(heldFor).toBeGreaterThanOrEqual(leaseMs(2) - 50);
    expect(heldFor).toBeLessThan(leaseMs(2) + 1_500);
    for (const id of runIds) {
      expect((await gw.post(`/flow_runs/${id}/set_state`, { state: { type: 'PENDING' } })).body.status).toBe('ACCEPT');
    }
    expect((await gw.db.repos.flowRuns.findById(runIds[0]))?.offered_to).toBeNull();
  }, 30_000);

  it('what `prefect work-pool preview` saw (a poll an hour ahead, nothing claimed) reaches a worker within 7.5 s', async () => {
    const runIds = await dueRuns('previewed', 2);
    let preview: { body: { flow_run: { id: string } }[] } = { body: [] };
    const waitUntil = Date.now() + 5_000;
    while (preview.body.length < 2 && Date.now() < waitUntil) {
      // What the CLI sends: no queue names, scheduled_before = now + --hours (1 by default).
      preview = await gw.post('/work_pools/previewed/get_scheduled_flow_runs', { scheduled_before: inSeconds(3600) });
    }
    const polledAt = Date.now();
    expect(ids(preview)).toEqual([...runIds].sort());

    const worker = await secondPollerGets('previewed', polledAt);
    process.stdout.write(
      `${JSON.stringify({ case: 'preview', leaseMs: leaseMs(2), reachedWorkerAfterMs: worker.afterMs })}\n`,
    );
    expect(worker.runIds).toEqual([...runIds].sort());
    expect(worker.afterMs).toBeGreaterThanOrEqual(leaseMs(2) - 50);
    expect(worker.afterMs).toBeLessThan(STOCK_MIN_QUERY_GAP_MS);
  }, 30_000);
});
