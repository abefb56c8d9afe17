import { InMemoryDeploymentConcurrency } from '../../../../test/support/in-memory-deployment-concurrency';
import { newState, OrchestrationContext, proposedState, RunState } from '../orchestration';
import { orchestratedTaskRun, OrchestratedTaskRunRow, orchestrateTaskRun } from './task-run-orchestration';

const T0 = new Date('2026-08-21T12:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

function taskRun(fields: Partial<OrchestratedTaskRunRow> = {}): OrchestratedTaskRunRow {
  return {
    id: '5d0f3b7e-1c2a-4f7e-9a3b-0c1d2e3f4a5b',
    flow_run_id: '9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b',
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

function propose(
  task: OrchestratedTaskRunRow,
  current: RunState | null,
  type: RunState['type'],
  now: Date,
  taken: Date[] = [],
) {
  const context = new OrchestrationContext(orchestratedTaskRun(task), current, proposedState({ type }, now), {
    now,
    clientVersion: '3.9.1',
    apiVersion: '0.8.4',
    takenStateTimestamps: new Set(taken.map((date) => date.getTime())),
    startedSinceScheduled: false,
    deploymentConcurrency: new InMemoryDeploymentConcurrency(),
  });
  return orchestrateTaskRun(context, task);
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
