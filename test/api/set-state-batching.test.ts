import { PrefectEvent } from '@app/contracts';
import { connect, NatsConnection } from '@nats-io/transport-node';
import { randomUUID } from 'node:crypto';
import { TestGateway } from '../support/gateway';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Concurrent `set_state` calls share transactions (group commit), each still answered as if alone. */
describe('POST /flow_runs/{id}/set_state, concurrently', () => {
  let gw: TestGateway;
  let nc: NatsConnection;
  let flowId: string;
  const received: PrefectEvent[] = [];

  beforeAll(async () => {
    gw = await TestGateway.start();
    nc = await connect({ servers: gw.config.nats.url });
    nc.subscribe(`${gw.config.nats.namespace}.events.>`, {
      callback: (_error, message) => void received.push(message.json<PrefectEvent>()),
    });
    await nc.flush();
    flowId = (await gw.post('/flows/', { name: 'batched' })).body.id;
  });
  afterAll(async () => {
    await nc.close();
    await gw.stop();
  });

  async function scheduledRun(deploymentId?: string): Promise<string> {
    const response = await gw.post('/flow_runs/', {
      flow_id: flowId,
      deployment_id: deploymentId,
      state: { type: 'SCHEDULED', state_details: { scheduled_time: new Date(Date.now() - 5000).toISOString() } },
    });
    expect(response.status).toBe(201);
    return response.body.id as string;
  }
  const scheduledRuns = (count: number, deploymentId?: string) =>
    Promise.all(Array.from({ length: count }, () => scheduledRun(deploymentId)));
  const claim = (id: string) =>
    gw.post(`/flow_runs/${id}/set_state`, {
      state: { type: 'PENDING', name: 'Pending', state_details: { transition_id: randomUUID() } },
    });
  const history = async (id: string) =>
    (await gw.db.repos.flowRunStates.historyOf(id)).map((state) => `${state.type}/${state.name}`);

  /** Counts the gateway's transactions while `work` runs. */
  async function countingTransactions<T>(work: () => Promise<T>): Promise<{ result: T; transactions: number }> {
    const spy = jest.spyOn(gw.db, 'transaction');
    try {
      const result = await work();
      return { result, transactions: spy.mock.calls.length };
    } finally {
      spy.mockRestore();
    }
  }

  it('commits concurrent claims of distinct runs in fewer transactions than claims, each answered for its run', async () => {
    const ids = await scheduledRuns(24);
    const { result: responses, transactions } = await countingTransactions(() => Promise.all(ids.map(claim)));

    expect(transactions).toBeLessThan(ids.length / 2);
    responses.forEach((response, i) => {
      expect(response.status).toBe(201);
      expect(response.body).toMatchObject({
        status: 'ACCEPT',
        state: { type: 'PENDING', name: 'Pending', state_details: { flow_run_id: ids[i] } },
      });
    });
    for (const [i, id] of ids.entries()) {
      expect(await history(id)).toEqual(['SCHEDULED/Scheduled', 'PENDING/Pending']);
      const run = (await gw.get(`/flow_runs/${id}`)).body;
      expect(run).toMatchObject({ state_id: responses[i].body.state.id, state_type: 'PENDING', state_name: 'Pending' });
    }
    // Every committed state still has its event, once the batch has committed.
    const deadline = Date.now() + 5000;
    const pendingEvents = () =>
      received.filter(
        (event) =>
          event.event === 'prefect.flow-run.Pending' &&
          ids.includes(event.resource['prefect.resource.id'].slice('prefect.flow-run.'.length)),
      );
    while (pendingEvents().length < ids.length && Date.now() < deadline) await sleep(20);
    expect(
      pendingEvents()
        .map((event) => event.resource['prefect.resource.id'])
        .sort(),
    ).toEqual(ids.map((id) => `prefect.flow-run.${id}`).sort());
  });

  it('of two concurrent claims of one run, accepts one and aborts the other', async () => {
    const [contested, ...others] = await scheduledRuns(6);
    const { result: responses, transactions } = await countingTransactions(() =>
      Promise.all([claim(contested), ...others.map(claim), claim(contested)]),
    );
    expect(transactions).toBeLessThan(responses.length);
    const contestedAnswers = [responses[0], responses[responses.length - 1]];
    expect(contestedAnswers.map((response) => response.body.status).sort()).toEqual(['ABORT', 'ACCEPT']);
    const accepted = contestedAnswers.find((response) => response.body.status === 'ACCEPT')!;
    const aborted = contestedAnswers.find((response) => response.body.status === 'ABORT')!;
    expect(accepted.status).toBe(201);
    expect(aborted.status).toBe(200);
    expect(aborted.body).toEqual({
      state: accepted.body.state,
      status: 'ABORT',
      details: {
        type: 'abort_details',
        reason: 'This run is in a PENDING state and cannot transition to a PENDING state.',
      },
    });
    expect(await history(contested)).toEqual(['SCHEDULED/Scheduled', 'PENDING/Pending']);
    for (const response of responses.slice(1, -1)) expect(response.body.status).toBe('ACCEPT');
  });

  it('answers 404 for an unknown run among concurrent claims, and the others still succeed', async () => {
    const ids = await scheduledRuns(6);
    const unknown = randomUUID();
    const { result: responses, transactions } = await countingTransactions(() =>
      Promise.all([...ids.slice(0, 3), unknown, ...ids.slice(3)].map(claim)),
    );
    expect(transactions).toBeLessThan(responses.length);
    expect(responses[3].status).toBe(404);
    expect(responses[3].body).toEqual({ exception_message: `Flow run with id ${unknown} not found` });
    for (const response of [...responses.slice(0, 3), ...responses.slice(4)]) {
      expect(response.status).toBe(201);
      expect(response.body.status).toBe('ACCEPT');
    }
  });

  it('leaves runs as proposals one at a time would, when a batch mixes transitions that change different columns', async () => {
    const T = new Date(Date.now() + 3600_000).toISOString();
    const steps: [string, Record<string, unknown>, boolean][][] = [
      [
        ['claim', { type: 'PENDING', name: 'Pending' }, false],
        ['reschedule', { type: 'SCHEDULED', name: 'Scheduled', state_details: { scheduled_time: T } }, true],
        ['cancel', { type: 'CANCELLED', name: 'Cancelled', message: 'no' }, true],
      ],
      [
        ['claim', { type: 'RUNNING', name: 'Running' }, false],
        ['reschedule', { type: 'PENDING', name: 'Pending' }, false],
        ['cancel', { type: 'RUNNING', name: 'Running' }, false],
      ],
      [
        ['claim', { type: 'COMPLETED', name: 'Completed' }, false],
        ['reschedule', { type: 'RUNNING', name: 'Running' }, false],
        ['cancel', { type: 'SCHEDULED', name: 'Scheduled', state_details: { scheduled_time: T } }, true],
      ],
    ];
    const alone = await scheduledRuns(3);
    const together = await scheduledRuns(3);
    const propose = (id: string, state: Record<string, unknown>, force: boolean) =>
      gw.post(`/flow_runs/${id}/set_state`, { state, force });
    for (const step of steps) {
      for (const [i, [, state, force]] of step.entries()) await propose(alone[i], state, force);
      const { transactions } = await countingTransactions(() =>
        Promise.all(step.map(([, state, force], i) => propose(together[i], state, force))),
      );
      expect(transactions).toBeLessThan(step.length);
    }
    const shape = async (id: string) => {
      const run = (await gw.get(`/flow_runs/${id}`)).body;
      return {
        state_type: run.state_type,
        state_name: run.state_name,
        run_count: run.run_count,
        started: run.start_time !== null,
        ended: run.end_time !== null,
        next_scheduled_start_time: run.next_scheduled_start_time,
        expected_start_time_set: run.expected_start_time !== null,
        empirical_policy: run.empirical_policy,
        history: await history(id),
      };
    };
    for (let i = 0; i < alone.length; i++) expect(await shape(together[i])).toEqual(await shape(alone[i]));
  });

  it('keeps a deployment concurrency limit among concurrent claims', async () => {
    const deploymentId = (
      await gw.post('/deployments/', { name: `limited-${randomUUID()}`, flow_id: flowId, concurrency_limit: 1 })
    ).body.id as string;
    const limited = await scheduledRuns(4, deploymentId);
    const free = await scheduledRuns(6);
    const responses = await Promise.all([...limited, ...free].map(claim));
    const limitedAnswers = responses.slice(0, limited.length).map((response) => response.body);
    expect(limitedAnswers.filter((body) => body.status === 'ACCEPT')).toHaveLength(1);
    expect(limitedAnswers.filter((body) => body.status === 'REJECT')).toHaveLength(limited.length - 1);
    for (const body of limitedAnswers.filter((answer) => answer.status === 'REJECT')) {
      expect(body.state).toMatchObject({ type: 'SCHEDULED', name: 'AwaitingConcurrencySlot' });
    }
    expect(await gw.db.repos.deploymentConcurrencyLeases.countLive(deploymentId)).toBe(1);
    for (const response of responses.slice(limited.length)) expect(response.body.status).toBe('ACCEPT');
  });
});
