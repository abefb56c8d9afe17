import { expectMatchesOpenApi } from '../../../../test/support/openapi';
import { newState, stateRow } from '../orchestration/states';
import type { StoredRunState } from '../orchestration/stored-run-state';
import {
  FlowRunResponseRow,
  presentFlowRunResponse,
  presentOrchestrationResult,
  presentWorkerFlowRun,
} from './flow-run.presenter';

const NOW = new Date('2026-08-21T12:00:00.000Z');
const at = (offsetSeconds: number) => new Date(NOW.getTime() + offsetSeconds * 1000);
const POOL_ID = '2a1b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d';
const QUEUE_ID = '9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a';

function storedState(type: 'SCHEDULED' | 'RUNNING', runId: string): StoredRunState {
  const state = newState(type, at(-30), { state_details: { scheduled_time: at(-60), flow_run_id: runId } });
  return stateRow(state, runId);
}

function flowRun(overrides: Partial<FlowRunResponseRow> = {}): FlowRunResponseRow & { work_queue_id: string } {
  const id = '6b4b2307-2c0f-4fba-a921-485b4e6fed89';
  const state = storedState('SCHEDULED', id);
  return {
    id,
    created: at(-120),
    updated: at(-30),
    name: 'crimson-tortoise',
    flow_id: '0f9bbcdf-8360-4ea5-9307-1c6157a0c444',
    deployment_id: null,
    deployment_version: null,
    work_queue_id: QUEUE_ID,
    work_queue_name: 'default',
    flow_version: null,
    parameters: { x: 1 },
    idempotency_key: null,
    context: {},
    empirical_policy: {},
    tags: ['a'],
    labels: { 'prefect.flow.id': '0f9bbcdf-8360-4ea5-9307-1c6157a0c444' },
    parent_task_run_id: null,
    state_id: state.id,
    state,
    state_type: 'SCHEDULED',
    state_name: 'Scheduled',
    state_timestamp: at(-30),
    run_count: 0,
    expected_start_time: at(-60),
    next_scheduled_start_time: at(-60),
    start_time: null,
    end_time: null,
    total_run_time: 0,
    auto_scheduled: true,
    infrastructure_document_id: null,
    infrastructure_pid: null,
    created_by: { id: 'c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f', type: 'SCHEDULE', display_value: 'Cron' },
    job_variables: {},
    ...overrides,
  } as FlowRunResponseRow & { work_queue_id: string };
}

describe('flow run presenters', () => {
  it('presents a poll entry as WorkerFlowRunResponse, with the run schema and no state', () => {
    const run = flowRun();
    const entry = presentWorkerFlowRun(run, POOL_ID, NOW);
    expectMatchesOpenApi('POST', '/work_pools/{name}/get_scheduled_flow_runs', 200, [entry]);
    expect(entry).toMatchObject({ work_pool_id: POOL_ID, work_queue_id: QUEUE_ID });
    expect(entry.flow_run.state).toBeNull();
    expect(entry.flow_run.state_id).toBe(run.state_id);
    expect(entry.flow_run).not.toHaveProperty('work_pool_id');
    expect(entry.flow_run.empirical_policy).toEqual({
      max_retries: 0,
      retry_delay_seconds: 0,
      retries: null,
      retry_delay: null,
      pause_keys: [],
      resuming: false,
      retry_type: null,
    });
    expect(entry.flow_run.created_by).toEqual({
      id: 'c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f',
      type: 'SCHEDULE',
      display_value: 'Cron',
    });
  });

  it('presents FlowRunResponse with the current state and the pool of its queue', () => {
    const queue = { id: QUEUE_ID, name: 'renamed', work_pool: { id: POOL_ID, name: 'process-pool' } };
    const response = presentFlowRunResponse(flowRun({ work_queue: queue }), NOW);
    expectMatchesOpenApi('GET', '/flow_runs/{id}', 200, response);
    expect(response).toMatchObject({
      work_pool_id: POOL_ID,
      work_pool_name: 'process-pool',
      work_queue_name: 'renamed',
    });
    expect(response.state).toMatchObject({ type: 'SCHEDULED', name: 'Scheduled', timestamp: at(-30).toISOString() });
    expect(Object.keys(response.state!.state_details)).toHaveLength(18);

    const unqueued = presentFlowRunResponse(flowRun({ work_queue: null, work_queue_id: null }), NOW);
    expect(unqueued).toMatchObject({ work_pool_id: null, work_pool_name: null, work_queue_name: 'default' });
  });

  it('estimates lateness and run time at read time', () => {
    expect(presentWorkerFlowRun(flowRun(), POOL_ID, NOW).flow_run).toMatchObject({
      estimated_start_time_delta: 60,
      estimated_run_time: 0,
    });
    const running = flowRun({
      state_type: 'RUNNING',
      state_timestamp: at(-10),
      start_time: at(-10),
      total_run_time: 5,
    });
    expect(presentWorkerFlowRun(running, POOL_ID, NOW).flow_run).toMatchObject({
      estimated_start_time_delta: 50,
      estimated_run_time: 15,
    });
    const finished = flowRun({ state_type: 'FAILED', start_time: null, total_run_time: 5 });
    expect(presentWorkerFlowRun(finished, POOL_ID, NOW).flow_run).toMatchObject({
      estimated_start_time_delta: 0,
      estimated_run_time: 5,
    });
    const early = flowRun({ start_time: at(-90) });
    expect(presentWorkerFlowRun(early, POOL_ID, NOW).flow_run.estimated_start_time_delta).toBe(0);
  });

  it('presents an orchestration result in each of Prefect detail shapes', () => {
    const state = newState('PENDING', NOW);
    const results = [
      presentOrchestrationResult({ status: 'ACCEPT', details: { type: 'accept_details' }, state }),
      presentOrchestrationResult({ status: 'REJECT', details: { type: 'reject_details', reason: 'r' }, state }),
      presentOrchestrationResult({ status: 'ABORT', details: { type: 'abort_details', reason: 'a' }, state: null }),
      presentOrchestrationResult({
        status: 'WAIT',
        details: { type: 'wait_details', delay_seconds: 3, reason: 'w' },
        state,
      }),
    ];
    for (const result of results) expectMatchesOpenApi('POST', '/flow_runs/{id}/set_state', 200, result);
    expect(results[0].state?.timestamp).toBe('2026-08-21T12:00:00.000Z');
  });
});
