import { randomUUID } from 'node:crypto';
import { expectOperation } from '../support/openapi';
import { TestGateway } from '../support/gateway';

describe('task runs API', () => {
  let gw: TestGateway;
  let flowRunId: string;
  let otherFlowRunId: string;

  beforeAll(async () => {
    gw = await TestGateway.start();
    const flow = await gw.post('/flows/', { name: 'tasks-flow' });
    flowRunId = (await gw.post('/flow_runs/', { flow_id: flow.body.id })).body.id;
    otherFlowRunId = (await gw.post('/flow_runs/', { flow_id: flow.body.id })).body.id;
    // Prefect lets a task run only while its flow run runs.
    await gw.post(`/flow_runs/${flowRunId}/set_state`, { state: { type: 'RUNNING' } });
  });
  afterAll(() => gw.stop());

  const create = (body: Record<string, unknown>) =>
    gw.post('/task_runs/', { task_key: 'etl.extract', dynamic_key: '0', ...body });

  it('creates a task run PENDING (201); the same flow run, task key and dynamic key return it again (200)', async () => {
    const first = await create({
      flow_run_id: flowRunId,
      name: 'extract-0',
      tags: ['t'],
      empirical_policy: { retries: 2, retry_delay: [1, 5] },
    });
    expectOperation(first, 'POST', '/task_runs/', 201);
    expect(first.body).toMatchObject({
      name: 'extract-0',
      flow_run_id: flowRunId,
      task_key: 'etl.extract',
      dynamic_key: '0',
      tags: ['t'],
      run_count: 0,
      state_type: 'PENDING',
      state_name: 'Pending',
      state: {
        type: 'PENDING',
        name: 'Pending',
        state_details: { flow_run_id: flowRunId, task_run_id: first.body.id },
      },
      empirical_policy: {
        retries: 2,
        retry_delay: [1, 5],
        max_retries: 0,
        retry_delay_seconds: 0,
        retry_jitter_factor: null,
      },
    });
    expect(first.body.state_id).toBe(first.body.state.id);

    const again = await create({ flow_run_id: flowRunId, name: 'another name', state: { type: 'RUNNING' } });
    expectOperation(again, 'POST', '/task_runs/', 200);
    expect(again.body).toMatchObject({ id: first.body.id, name: 'extract-0', state_type: 'PENDING' });

    const read = await gw.get(`/task_runs/${first.body.id}`);
    expectOperation(read, 'GET', '/task_runs/{id}', 200);
    expect(read.body).toEqual({ ...first.body, estimated_start_time_delta: expect.any(Number) });
  });

  it("records RUNNING then COMPLETED through set_state (ACCEPT, 201) with Prefect's bookkeeping", async () => {
    const task = (await create({ flow_run_id: flowRunId, dynamic_key: '1' })).body;
    const running = await gw.post(`/task_runs/${task.id}/set_state`, { state: { type: 'RUNNING' } });
    expectOperation(running, 'POST', '/task_runs/{id}/set_state', 201);
    expect(running.body).toMatchObject({
      status: 'ACCEPT',
      details: { type: 'accept_details' },
      state: { type: 'RUNNING', name: 'Running', state_details: { task_run_id: task.id, flow_run_id: flowRunId } },
    });
    const completed = await gw.post(`/task_runs/${task.id}/set_state`, {
      state: { type: 'COMPLETED', data: { type: 'unpersisted' } },
      force: false,
    });
    expectOperation(completed, 'POST', '/task_runs/{id}/set_state', 201);
    expect(completed.body).toMatchObject({ status: 'ACCEPT', state: { type: 'COMPLETED', name: 'Completed' } });

    const read = (await gw.get(`/task_runs/${task.id}`)).body;
    expect(read).toMatchObject({
      state_type: 'COMPLETED',
      state_name: 'Completed',
      run_count: 1,
      state_id: completed.body.state.id,
    });
    expect(read.start_time).toBe(running.body.state.timestamp);
    expect(read.end_time).toBe(completed.body.state.timestamp);
    expect(read.total_run_time).toBeCloseTo((Date.parse(read.end_time) - Date.parse(read.start_time)) / 1000, 3);
    const history = await gw.db.repos.taskRunStates.historyOf(task.id);
    expect(history.map((state) => state.type)).toEqual(['PENDING', 'RUNNING', 'COMPLETED']);
    expect(new Set(history.map((state) => state.timestamp.getTime())).size).toBe(3);
  });

  it('creates a task run with a given id and state, and one without a flow run (idempotent on its keys alone)', async () => {
    const id = randomUUID();
    const given = await create({ id, flow_run_id: otherFlowRunId, state: { type: 'RUNNING', name: 'Running' } });
    expectOperation(given, 'POST', '/task_runs/', 201);
    expect(given.body).toMatchObject({ id, state_type: 'RUNNING', run_count: 1 });
    expect(given.body.start_time).toBe(given.body.state.timestamp);

    const detached = await create({ task_key: 'background.task', dynamic_key: 'abc', name: null });
    expectOperation(detached, 'POST', '/task_runs/', 201);
    expect(detached.body).toMatchObject({ flow_run_id: null, state_type: 'PENDING' });
    expect(detached.body.name).toMatch(/^[a-z]+-[a-z]+$/);
    const same = await create({ task_key: 'background.task', dynamic_key: 'abc' });
    expectOperation(same, 'POST', '/task_runs/', 200);
    expect(same.body.id).toBe(detached.body.id);
  });

  it('filters by task-run criteria and by the flow run, sorted and paged', async () => {
    const filter = async (body: unknown) => {
      const response = await gw.post('/task_runs/filter', body);
      expectOperation(response, 'POST', '/task_runs/filter', 200);
      return response.body as { id: string; dynamic_key: string; flow_run_id: string | null; state_type: string }[];
    };
    const ofRun = await filter({ task_runs: { flow_run_id: { any_: [flowRunId] } }, sort: 'NAME_ASC' });
    expect(ofRun.map((task) => task.dynamic_key).sort()).toEqual(['0', '1']);
    expect(
      (await filter({ task_runs: { state: { type: { any_: ['COMPLETED'] } } } })).map((task) => task.dynamic_key),
    ).toEqual(['1']);
    expect((await filter({ task_runs: { flow_run_id: { is_null_: true } } })).map((task) => task.dynamic_key)).toEqual([
      'abc',
    ]);
    expect((await filter({ flow_runs: { id: { any_: [otherFlowRunId] } } })).map((task) => task.flow_run_id)).toEqual([
      otherFlowRunId,
    ]);
    expect(
      await filter({
        task_runs: { start_time: { is_null_: false } },
        limit: 1,
        offset: 0,
        sort: 'EXPECTED_START_TIME_DESC',
      }),
    ).toHaveLength(1);
    expect(await filter({})).toHaveLength(4);
    const byId = await filter({ sort: 'ID_DESC' });
    expect(byId.map((task) => task.id)).toEqual(
      byId
        .map((task) => task.id)
        .sort()
        .reverse(),
    );
  });

  it('lets flow runs, flows and deployments be filtered through their task runs, and subflows through their parent', async () => {
    const flowRuns = async (body: unknown) => {
      const response = await gw.post('/flow_runs/filter', body);
      expectOperation(response, 'POST', '/flow_runs/filter', 200);
      return (response.body as { id: string }[]).map((run) => run.id);
    };
    expect(await flowRuns({ task_runs: { state: { type: { any_: ['COMPLETED'] } } } })).toEqual([flowRunId]);
    expect((await flowRuns({ task_runs: {} })).sort()).toEqual([flowRunId, otherFlowRunId].sort());
    expect(await gw.post('/flows/count', { task_runs: { flow_run_id: { any_: [otherFlowRunId] } } })).toMatchObject({
      status: 200,
      body: 1,
    });

    const parentTask = (await create({ flow_run_id: flowRunId, task_key: 'run_deployment', dynamic_key: 'sub' })).body;
    const flow = await gw.post('/flows/', { name: 'tasks-flow' });
    const subflow = (await gw.post('/flow_runs/', { flow_id: flow.body.id, parent_task_run_id: parentTask.id })).body
      .id;
    expect(await flowRuns({ flow_runs: { parent_flow_run_id: { any_: [flowRunId] } } })).toEqual([subflow]);
    expect(await flowRuns({ flow_runs: { parent_flow_run_id: { any_: [otherFlowRunId] } } })).toEqual([]);
    const withSubflows = await gw.post('/task_runs/filter', { task_runs: { subflow_runs: { exists_: true } } });
    expect(withSubflows.body.map((task: { id: string }) => task.id)).toEqual([parentTask.id]);
  });

  describe('errors', () => {
    it('404 for a missing task run, as Prefect words it', async () => {
      expect(await gw.get(`/task_runs/${randomUUID()}`)).toMatchObject({
        status: 404,
        body: { detail: 'Task not found' },
      });
      const id = randomUUID();
      const setState = await gw.post(`/task_runs/${id}/set_state`, { state: { type: 'RUNNING' } });
      expect(setState).toMatchObject({ status: 404, body: { exception_message: `Task run with id ${id} not found` } });
    });

    it('409 for a flow run that does not exist, and nothing stored', async () => {
      const response = await create({ flow_run_id: randomUUID(), dynamic_key: 'orphan' });
      expect(response.status).toBe(409);
      const all = (await gw.post('/task_runs/filter', {})).body as { dynamic_key: string }[];
      expect(all.map((task) => task.dynamic_key)).not.toContain('orphan');
    });

    it.each([
      ['no task key', { dynamic_key: '0' }, 'missing'],
      ['an unknown field', { task_key: 'k', dynamic_key: '0', color: 'red' }, 'extra_forbidden'],
      ['a bad state type', { task_key: 'k', dynamic_key: '0', state: { type: 'DONE' } }, 'enum'],
    ])('422 for %s', async (_case, body, type) => {
      const response = await gw.post('/task_runs/', body);
      expect(response.status).toBe(422);
      expect(response.body.exception_detail.map((detail: { type: string }) => detail.type)).toContain(type);
    });
  });
});
