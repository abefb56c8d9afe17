import fc from 'fast-check';
import { InMemoryDeploymentConcurrency } from '../../../../test/support/in-memory-deployment-concurrency';
import { newState, OrchestrationContext, proposedState, RunState, StateType } from '../orchestration';
import {
  orchestratedTaskRun,
  OrchestratedTaskRunRow,
  orchestrateTaskRun,
  TaskRunTransitionOptions,
} from './task-run-orchestration';

const T0 = new Date('2026-08-21T12:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

function taskRun(fields: Partial<OrchestratedTaskRunRow> = {}): OrchestratedTaskRunRow {
  return {
    id: '5d0f3b7e-1c2a-4f7e-9a3b-0c1d2e3f4a5b',
    flow_run_id: FLOW_RUN_ID,
    state_type: null,
    state_name: null,
    state_timestamp: null,
    run_count: 0,
    start_time: null,
    end_time: null,
    total_run_time: 0,
    expected_start_time: null,
    next_scheduled_start_time: null,
    ...fields,
  };
}

const FLOW_RUN_ID = '9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b';
const RUNNING_FLOW: TaskRunTransitionOptions = {
  flowRun: { id: FLOW_RUN_ID, state: newState('RUNNING', T0) },
  force: false,
};

function propose(
  task: OrchestratedTaskRunRow,
  current: RunState | null,
  type: RunState['type'],
  now: Date,
  taken: Date[] = [],
  options: TaskRunTransitionOptions = RUNNING_FLOW,
) {
  const context = new OrchestrationContext(orchestratedTaskRun(task), current, proposedState({ type }, now), {
    now,
    clientVersion: '3.9.1',
    apiVersion: '0.8.4',
    takenStateTimestamps: new Set(taken.map((date) => date.getTime())),
    startedSinceScheduled: false,
    deploymentConcurrency: new InMemoryDeploymentConcurrency(),
  });
  return orchestrateTaskRun(context, task, options);
}

describe('task-run orchestration (GlobalTaskPolicy)', () => {
  it('accepts the first state and points it at the task run and its flow run', async () => {
    const task = taskRun();
    const outcome = await propose(task, null, 'PENDING', T0);
    expect(outcome).toMatchObject({ status: 'ACCEPT', written: true, state: { type: 'PENDING', name: 'Pending' } });
    expect(outcome.state?.state_details).toMatchObject({ task_run_id: task.id, flow_run_id: task.flow_run_id });
    expect(outcome.run).toMatchObject({
      state_type: 'PENDING',
      expected_start_time: T0,
      run_count: 0,
      start_time: null,
    });
  });

  it('counts each RUNNING, starts the run once, accrues running time and ends it on a final state', async () => {
    const pending = newState('PENDING', T0);
    const first = await propose(taskRun({ state_type: 'PENDING', expected_start_time: T0 }), pending, 'RUNNING', at(1));
    expect(first.run).toMatchObject({ run_count: 1, start_time: at(1), end_time: null });

    const running = first.state!;
    const done = await propose(taskRun({ ...first.run, state_type: 'RUNNING' }), running, 'COMPLETED', at(4));
    expect(done).toMatchObject({ status: 'ACCEPT', state: { type: 'COMPLETED' } });
    expect(done.run).toMatchObject({
      run_count: 1,
      start_time: at(1),
      end_time: at(4),
      total_run_time: 3,
      state_name: 'Completed',
    });
  });

  it("accepts what Prefect's core task rules would refuse (they are left out), e.g. leaving COMPLETED", async () => {
    const completed = newState('COMPLETED', T0);
    const outcome = await propose(
      taskRun({ state_type: 'COMPLETED', start_time: T0, end_time: T0 }),
      completed,
      'RUNNING',
      at(1),
    );
    expect(outcome).toMatchObject({ status: 'ACCEPT', written: true });
    expect(outcome.run).toMatchObject({ run_count: 1, end_time: null });
  });

  it('moves a state whose timestamp another state of the run holds', async () => {
    const outcome = await propose(taskRun(), null, 'PENDING', T0, [T0]);
    expect(outcome.state?.timestamp.getTime()).toBe(T0.getTime() + 1);
  });
});

describe('PreventRunningTasksFromStoppedFlows', () => {
  const STATE_TYPES: StateType[] = [
    'SCHEDULED',
    'PENDING',
    'RUNNING',
    'COMPLETED',
    'FAILED',
    'CANCELLED',
    'CRASHED',
    'PAUSED',
    'CANCELLING',
  ];
  const stateType = fc.constantFrom(...STATE_TYPES);
  const flowState = (type: StateType | null) => (type ? newState(type, T0) : null);
  const current = (type: StateType | null) => (type ? newState(type, T0) : null);
  const options = (type: StateType | null, force = false): TaskRunTransitionOptions => ({
    flowRun: { id: FLOW_RUN_ID, state: flowState(type) },
    force,
  });

  it('aborts RUNNING from any task state while the flow run is neither RUNNING nor PAUSED (or has no state)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.option(stateType, { nil: null }),
        fc.option(fc.constantFrom(...STATE_TYPES.filter((t) => t !== 'RUNNING' && t !== 'PAUSED')), { nil: null }),
        async (taskState, flowType) => {
          const task = taskRun({ state_type: taskState });
          const outcome = await propose(task, current(taskState), 'RUNNING', at(1), [], options(flowType));
          expect(outcome).toMatchObject({
            status: 'ABORT',
            written: false,
            details: { type: 'abort_details', reason: 'The enclosing flow must be running to begin task execution.' },
          });
          expect(outcome.run.run_count).toBe(0);
        },
      ),
    );
  });

  it('rejects RUNNING into Paused "NotReady" with the flow pause timeout and reschedule flag while the flow is PAUSED', async () => {
    const pausedFlow = newState('PAUSED', T0, { state_details: { pause_timeout: at(600), pause_reschedule: true } });
    const task = taskRun({ state_type: 'PENDING' });
    const outcome = await propose(task, newState('PENDING', T0), 'RUNNING', at(1), [], {
      flowRun: { id: FLOW_RUN_ID, state: pausedFlow },
      force: false,
    });
    expect(outcome).toMatchObject({
      status: 'REJECT',
      written: true,
      details: {
        type: 'reject_details',
        reason: `The flow is paused, new tasks can execute after resuming flow run: ${FLOW_RUN_ID}.`,
      },
      state: { type: 'PAUSED', name: 'NotReady' },
    });
    expect(outcome.state?.state_details).toMatchObject({
      pause_timeout: at(600),
      pause_reschedule: true,
      task_run_id: task.id,
      flow_run_id: FLOW_RUN_ID,
    });
    expect(outcome.run).toMatchObject({ state_type: 'PAUSED', state_name: 'NotReady', run_count: 0 });
  });

  it('lets every other proposal through, and RUNNING when forced, under a running flow or without a flow run', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.option(stateType, { nil: null }),
        stateType,
        fc.option(stateType, { nil: null }),
        fc.boolean(),
        async (taskState, proposed, flowType, force) => {
          const governed = proposed === 'RUNNING' && !force && flowType !== 'RUNNING';
          fc.pre(!governed);
          const task = taskRun({ state_type: taskState });
          const outcome = await propose(task, current(taskState), proposed, at(1), [], options(flowType, force));
          expect(outcome).toMatchObject({ status: 'ACCEPT', written: true, state: { type: proposed } });
        },
      ),
    );
    const detached = taskRun({ flow_run_id: null });
    const outcome = await propose(detached, newState('PENDING', T0), 'RUNNING', at(1), [], {
      flowRun: null,
      force: false,
    });
    expect(outcome).toMatchObject({ status: 'ACCEPT', state: { type: 'RUNNING' } });
  });
});
