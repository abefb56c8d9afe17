import { randomUUID } from 'node:crypto';
import { expectOperation } from '../support/openapi';
import { TestGateway } from '../support/gateway';

/** Task-run behaviour checked side by side with Prefect 3.9.1's server: the answers below are Prefect's. */
describe('task runs as Prefect orchestrates, labels and filters them', () => {
  let gw: TestGateway;
  let flowId: string;

  beforeAll(async () => {
    gw = await TestGateway.start();
    flowId = (await gw.post('/flows/', { name: 'task-rules-flow' })).body.id;
  });
  afterAll(() => gw.stop());

  const flowRun = async (body: Record<string, unknown> = {}) =>
    (await gw.post('/flow_runs/', { flow_id: flowId, ...body })).body as { id: string; labels: object };
  const taskRun = async (flowRunId: string | null, body: Record<string, unknown> = {}) =>
    (await gw.post('/task_runs/', { flow_run_id: flowRunId, task_key: 'k', dynamic_key: randomUUID(), ...body }))
      .body as { id: string; labels: Record<string, unknown>; state_type: string };
  const setFlowState = (id: string, state: Record<string, unknown>) =>
    gw.post(`/flow_runs/${id}/set_state`, { state, force: true });

  describe('RUNNING needs a running flow run (PreventRunningTasksFromStoppedFlows)', () => {
    it('aborts RUNNING while the flow run is PENDING, keeping the task PENDING; accepts it once the flow runs', async () => {
      const run = await flowRun();
      const task = await taskRun(run.id);
      const refused = await gw.post(`/task_runs/${task.id}/set_state`, { state: { type: 'RUNNING' } });
      expectOperation(refused, 'POST', '/task_runs/{id}/set_state', 200);
      expect(refused.body).toMatchObject({
        status: 'ABORT',
        details: { type: 'abort_details', reason: 'The enclosing flow must be running to begin task execution.' },
        state: { type: 'PENDING' },
      });
      expect((await gw.get(`/task_runs/${task.id}`)).body).toMatchObject({ state_type: 'PENDING', run_count: 0 });

      await setFlowState(run.id, { type: 'RUNNING' });
      const accepted = await gw.post(`/task_runs/${task.id}/set_state`, { state: { type: 'RUNNING' } });
      expectOperation(accepted, 'POST', '/task_runs/{id}/set_state', 201);
      expect(accepted.body).toMatchObject({ status: 'ACCEPT', state: { type: 'RUNNING' } });
    });

    it.each(['COMPLETED', 'FAILED', 'CANCELLING', 'SCHEDULED'])(
      'aborts RUNNING while the flow run is %s',
      async (type) => {
        const run = await flowRun();
        await setFlowState(run.id, { type });
        const task = await taskRun(run.id);
        const refused = await gw.post(`/task_runs/${task.id}/set_state`, { state: { type: 'RUNNING' } });
        expect(refused.body).toMatchObject({ status: 'ABORT', details: { type: 'abort_details' } });
      },
    );

    it('rejects RUNNING into Paused "NotReady" (the flow pause timeout kept) while the flow run is PAUSED', async () => {
      const run = await flowRun();
      await setFlowState(run.id, { type: 'RUNNING' });
      await setFlowState(run.id, {
        type: 'PAUSED',
        state_details: { pause_timeout: '2030-01-01T00:00:00Z', pause_reschedule: false },
      });
      const task = await taskRun(run.id);
      const rejected = await gw.post(`/task_runs/${task.id}/set_state`, { state: { type: 'RUNNING' } });
      expectOperation(rejected, 'POST', '/task_runs/{id}/set_state', 201);
      expect(rejected.body).toMatchObject({
        status: 'REJECT',
        details: {
          type: 'reject_details',
          reason: `The flow is paused, new tasks can execute after resuming flow run: ${run.id}.`,
        },
        state: {
          type: 'PAUSED',
          name: 'NotReady',
          state_details: {
            pause_reschedule: false,
            task_run_id: task.id,
            flow_run_id: run.id,
          },
        },
      });
      expect(Date.parse(rejected.body.state.state_details.pause_timeout)).toBe(Date.parse('2030-01-01T00:00:00Z'));
      expect((await gw.get(`/task_runs/${task.id}`)).body).toMatchObject({
        state_type: 'PAUSED',
        state_name: 'NotReady',
      });
    });

    it('lets a forced RUNNING, a task run created RUNNING and a task run without a flow run through', async () => {
      const run = await flowRun();
      const task = await taskRun(run.id);
      const forced = await gw.post(`/task_runs/${task.id}/set_state`, { state: { type: 'RUNNING' }, force: true });
      expect(forced.body).toMatchObject({ status: 'ACCEPT', state: { type: 'RUNNING' } });
      expect(await taskRun(run.id, { state: { type: 'RUNNING' } })).toMatchObject({ state_type: 'RUNNING' });
      const detached = await taskRun(null);
      const running = await gw.post(`/task_runs/${detached.id}/set_state`, { state: { type: 'RUNNING' } });
      expect(running.body).toMatchObject({ status: 'ACCEPT', state: { type: 'RUNNING' } });
    });
  });

  it("inherits the flow run's labels under prefect.flow-run.id and the client's own labels", async () => {
    const run = await flowRun({ labels: { team: 'data', tier: 1 } });
    const task = await taskRun(run.id, { labels: { tier: 2, mine: true } });
    expect(task.labels).toEqual({
      team: 'data',
      tier: 2,
      mine: true,
      'prefect.flow.id': flowId,
      'prefect.flow-run.id': run.id,
    });
    expect((await gw.get(`/task_runs/${task.id}`)).body.labels).toEqual(task.labels);
    expect((await taskRun(null, { labels: { only: 'mine' } })).labels).toEqual({ only: 'mine' });
  });

  it("answers set_state on an unknown task run with Prefect's ObjectNotFoundError body", async () => {
    const id = randomUUID();
    const response = await gw.post(`/task_runs/${id}/set_state`, { state: { type: 'RUNNING' } });
    expect(response).toMatchObject({ status: 404, body: { exception_message: `Task run with id ${id} not found` } });
    expect(await gw.get(`/task_runs/${id}`)).toMatchObject({ status: 404, body: { detail: 'Task not found' } });
  });

  it("filters task runs by their flow run's flow and deployment", async () => {
    const otherFlowId = (await gw.post('/flows/', { name: 'task-rules-other-flow' })).body.id as string;
    const deployment = (await gw.post('/deployments/', { name: 'task-rules-deployment', flow_id: otherFlowId })).body;
    const deployed = (await gw.post(`/deployments/${deployment.id}/create_flow_run`, {})).body.id as string;
    const adHoc = (await gw.post('/flow_runs/', { flow_id: otherFlowId })).body.id as string;
    const deployedTask = await taskRun(deployed);
    const adHocTask = await taskRun(adHoc);
    await taskRun(null);
    const ids = async (body: unknown) => {
      const response = await gw.post('/task_runs/filter', body);
      expectOperation(response, 'POST', '/task_runs/filter', 200);
      return (response.body as { id: string }[]).map((task) => task.id).sort();
    };
    expect(await ids({ flows: { id: { any_: [otherFlowId] } } })).toEqual([deployedTask.id, adHocTask.id].sort());
    expect(await ids({ flows: { name: { any_: ['task-rules-other-flow'] } } })).toEqual(
      [deployedTask.id, adHocTask.id].sort(),
    );
    expect(await ids({ deployments: { id: { any_: [deployment.id] } } })).toEqual([deployedTask.id]);
    expect(await ids({ deployments: {} })).toEqual([deployedTask.id]);
    expect(await ids({ flows: { id: { any_: [otherFlowId] } }, flow_runs: { id: { any_: [adHoc] } } })).toEqual([
      adHocTask.id,
    ]);
    expect(await ids({ flows: { id: { any_: [randomUUID()] } } })).toEqual([]);
  });
});
