import type { PrefectEvent } from '@app/contracts';
import type { TaskRunEventColumns, TaskRunVersion } from './task-run-event-rows';
import fc from 'fast-check';
import {
  isRecordableTaskRunEvent,
  planTaskRunRecording,
  stateRowFor,
  taskRunFromEvent,
  UnrecordableTaskRunEventError,
} from './task-run-events';

const TASK_RUN_ID = '5d0f3b7e-1c2a-4f7e-9a3b-0c1d2e3f4a5b';
const FLOW_RUN_ID = '9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b';
const EVENT_ID = '0d4a2c6e-7a1b-4c3d-9e8f-1a2b3c4d5e6f';
const NOW = new Date('2026-08-21T12:30:00.000Z');
const name = () => 'generated-name';

function event(payload: Record<string, unknown> = {}, overrides: Partial<PrefectEvent> = {}): PrefectEvent {
  return {
    id: EVENT_ID,
    occurred: '2026-08-21T12:00:01.000123Z',
    event: 'prefect.task-run.Running',
    resource: { 'prefect.resource.id': `prefect.task-run.${TASK_RUN_ID}`, 'prefect.orchestration': 'client' },
    related: [
      { 'prefect.resource.id': 'prefect.tag.t', 'prefect.resource.role': 'tag' },
      { 'prefect.resource.id': `prefect.flow-run.${FLOW_RUN_ID}`, 'prefect.resource.role': 'flow-run' },
      {
        'prefect.resource.id': 'prefect.flow-run.00000000-0000-0000-0000-000000000000',
        'prefect.resource.role': 'flow-run',
      },
    ],
    payload: {
      validated_state: {
        type: 'RUNNING',
        name: 'Running',
        message: '',
        state_details: { transition_id: null, unknown_key: 1 },
        data: null,
      },
      task_run: { name: 'double-0', task_key: 'flows.double-1b2c', dynamic_key: '3' },
      ...payload,
    },
    follows: null,
    ...overrides,
  };
}

describe("isRecordableTaskRunEvent (the recorder's filter)", () => {
  it('takes task-run events a client orchestrated, nothing else', () => {
    expect(isRecordableTaskRunEvent(event())).toBe(true);
    expect(isRecordableTaskRunEvent(event({}, { event: 'prefect.flow-run.Running' }))).toBe(false);
    expect(
      isRecordableTaskRunEvent(event({}, { resource: { 'prefect.resource.id': `prefect.task-run.${TASK_RUN_ID}` } })),
    ).toBe(false);
    expect(
      isRecordableTaskRunEvent(
        event({}, { resource: { 'prefect.resource.id': 'x', 'prefect.orchestration': 'server' } }),
      ),
    ).toBe(false);
  });
});

describe('taskRunFromEvent (task_run_from_event)', () => {
  it('reads the task run from the resource, its flow run from the first flow-run related resource, the state from the event', () => {
    const recorded = taskRunFromEvent(event(), NOW, name);
    expect(recorded.columns).toEqual({
      id: TASK_RUN_ID,
      flow_run_id: FLOW_RUN_ID,
      task_key: 'flows.double-1b2c',
      dynamic_key: '3',
      name: 'double-0',
      state_id: EVENT_ID,
      state_type: 'RUNNING',
      state_name: 'Running',
      state_timestamp: '2026-08-21T12:00:01.000123Z',
    });
    expect(recorded.nameIfNew).toBe('double-0');
    expect(recorded.state).toMatchObject({
      id: EVENT_ID,
      type: 'RUNNING',
      name: 'Running',
      timestamp: '2026-08-21T12:00:01.000123Z',
      message: '',
      data: null,
    });
    expect(recorded.state.state_details).toMatchObject({
      flow_run_id: FLOW_RUN_ID,
      task_run_id: TASK_RUN_ID,
      transition_id: null,
      pause_reschedule: false,
    });
    expect(recorded.state.state_details).not.toHaveProperty('unknown_key');
  });

  it("writes only the task-run fields the client sent, each in its column's form", () => {
    const taskRun = {
      task_key: 'k',
      dynamic_key: '0',
      cache_key: null,
      cache_expiration: '2026-08-22T00:00:00+01:00',
      task_version: 'v1',
      empirical_policy: { max_retries: 0, retry_delay_seconds: 0.0, retries: 2, ignored: true },
      tags: ['a'],
      labels: null,
      task_inputs: { n: [{ input_type: 'parameter', name: 'n' }] },
      run_count: 1,
      flow_run_run_count: 2,
      expected_start_time: '2026-08-21T12:00:00.000001Z',
      next_scheduled_start_time: null,
      start_time: '2026-08-21T12:00:01Z',
      end_time: null,
      total_run_time: 1.5,
      estimated_run_time: 9,
      state_type: 'FAILED',
      id: 'not-this-one',
    };
    const { columns, nameIfNew } = taskRunFromEvent(event({ task_run: taskRun }), NOW, name);
    expect(columns).toEqual({
      id: TASK_RUN_ID,
      flow_run_id: FLOW_RUN_ID,
      task_key: 'k',
      dynamic_key: '0',
      state_id: EVENT_ID,
      state_type: 'RUNNING',
      state_name: 'Running',
      state_timestamp: '2026-08-21T12:00:01.000123Z',
      cache_key: null,
      cache_expiration: '2026-08-21T23:00:00.000000Z',
      task_version: 'v1',
      empirical_policy: {
        max_retries: 0,
        retry_delay_seconds: 0,
        retries: 2,
        retry_delay: null,
        retry_jitter_factor: null,
      },
      tags: ['a'],
      labels: {},
      task_inputs: taskRun.task_inputs,
      run_count: 1,
      flow_run_run_count: 2,
      expected_start_time: '2026-08-21T12:00:00.000001Z',
      next_scheduled_start_time: null,
      start_time: '2026-08-21T12:00:01.000000Z',
      end_time: null,
      total_run_time: 1.5,
    });
    expect(nameIfNew).toBe('generated-name');
  });

  it("names a run whose client sent an empty name; a state without a name gets its type's; a SCHEDULED one its time", () => {
    const recorded = taskRunFromEvent(
      event({ task_run: { name: '', task_key: 'k', dynamic_key: '0' }, validated_state: { type: 'SCHEDULED' } }),
      NOW,
      name,
    );
    expect(recorded.columns).toMatchObject({ name: 'generated-name', state_name: 'Scheduled' });
    expect(recorded.state.state_details.scheduled_time).toBe(NOW.toISOString());
  });

  it('has no flow run when no related resource is in the flow-run role', () => {
    const recorded = taskRunFromEvent(event({}, { related: [] }), NOW, name);
    expect(recorded.columns.flow_run_id).toBeNull();
    expect(recorded.state.state_details.flow_run_id).toBeNull();
  });

  it.each([
    [
      'a resource that is no task run',
      { resource: { 'prefect.resource.id': 'prefect.flow-run.x', 'prefect.orchestration': 'client' } },
      {},
    ],
    [
      'a task-run id that is no UUID',
      { resource: { 'prefect.resource.id': 'prefect.task-run.nope', 'prefect.orchestration': 'client' } },
      {},
    ],
    [
      'a flow-run resource that is not a flow run',
      { related: [{ 'prefect.resource.id': 'prefect.deployment.x', 'prefect.resource.role': 'flow-run' }] },
      {},
    ],
    ['no validated state', {}, { validated_state: undefined }],
    ['an unknown state type', {}, { validated_state: { type: 'DONE' } }],
    ['no task run', {}, { task_run: undefined }],
    ['no task key', {}, { task_run: { dynamic_key: '0' } }],
    ['no dynamic key', {}, { task_run: { task_key: 'k' } }],
    ['tags that are not strings', {}, { task_run: { task_key: 'k', dynamic_key: '0', tags: [1] } }],
    ['a run count that is no integer', {}, { task_run: { task_key: 'k', dynamic_key: '0', run_count: 1.5 } }],
    ['a start time that is no date-time', {}, { task_run: { task_key: 'k', dynamic_key: '0', start_time: 'soon' } }],
    ['a run time that is no number', {}, { task_run: { task_key: 'k', dynamic_key: '0', total_run_time: 'PT1S' } }],
  ])('refuses %s', (_case, overrides: Partial<PrefectEvent>, payload: Record<string, unknown>) => {
    expect(() => taskRunFromEvent(event(payload, overrides), NOW, name)).toThrow(UnrecordableTaskRunEventError);
  });
});

describe('planTaskRunRecording (the upsert and its ordering)', () => {
  const incoming = (fields: Partial<TaskRunEventColumns> = {}): TaskRunEventColumns => ({
    id: TASK_RUN_ID,
    flow_run_id: FLOW_RUN_ID,
    task_key: 'k',
    dynamic_key: '0',
    state_id: EVENT_ID,
    state_type: 'RUNNING',
    state_name: 'Running',
    state_timestamp: '2026-08-21T12:00:01.000000Z',
    ...fields,
  });
  const stored = (fields: Partial<TaskRunVersion> = {}): TaskRunVersion => ({
    id: TASK_RUN_ID,
    flow_run_id: FLOW_RUN_ID,
    task_key: 'k',
    dynamic_key: '0',
    state_timestamp: '2026-08-21T12:00:00.000000Z',
    ...fields,
  });

  it('inserts a task run never seen', () => {
    expect(planTaskRunRecording(incoming(), [])).toEqual({ write: 'insert', taskRunId: TASK_RUN_ID });
  });

  it('updates the stored run only when the event is newer than its state, to the microsecond', () => {
    expect(planTaskRunRecording(incoming(), [stored()])).toEqual({ write: 'update', taskRunId: TASK_RUN_ID });
    expect(planTaskRunRecording(incoming({ state_timestamp: '2026-08-21T12:00:00.000001Z' }), [stored()]).write).toBe(
      'update',
    );
    expect(planTaskRunRecording(incoming({ state_timestamp: '2026-08-21T12:00:00.000000Z' }), [stored()]).write).toBe(
      'state-only',
    );
    expect(planTaskRunRecording(incoming({ state_timestamp: '2026-08-21T11:59:59.999999Z' }), [stored()]).write).toBe(
      'state-only',
    );
    expect(planTaskRunRecording(incoming(), [stored({ state_timestamp: null })]).write).toBe('state-only');
  });

  it("prefers the run with the same flow run, task key and dynamic key over the one with the event's id", () => {
    const byKey = stored({ id: 'other-id' });
    const byId = stored({ dynamic_key: '9' });
    expect(planTaskRunRecording(incoming(), [byId, byKey])).toEqual({ write: 'update', taskRunId: 'other-id' });
    expect(planTaskRunRecording(incoming(), [byId])).toEqual({ write: 'update', taskRunId: TASK_RUN_ID });
    // Without a flow run there is no key: only the id matches.
    expect(
      planTaskRunRecording(incoming({ flow_run_id: null }), [stored({ id: 'other-id', flow_run_id: null })]),
    ).toEqual({ write: 'insert', taskRunId: TASK_RUN_ID });
  });

  it("whatever order a run's events arrive in, the run ends in the newest state", () => {
    const micros = fc.uniqueArray(fc.integer({ min: 0, max: 999_999 }), { minLength: 1, maxLength: 8 });
    fc.assert(
      fc.property(micros, (values) => {
        const events = values.map((us, index) =>
          incoming({ state_id: `s${index}`, state_timestamp: `2026-08-21T12:00:00.${String(us).padStart(6, '0')}Z` }),
        );
        let run: TaskRunVersion | null = null;
        let current: string | null = null;
        for (const next of events) {
          const plan = planTaskRunRecording(next, run ? [run] : []);
          if (plan.write !== 'state-only') {
            [run, current] = [stored({ state_timestamp: next.state_timestamp }), next.state_id];
          }
        }
        const newest = events.reduce((a, b) => (a.state_timestamp > b.state_timestamp ? a : b));
        expect(current).toBe(newest.state_id);
      }),
    );
  });
});

describe('stateRowFor', () => {
  it('files the state under the stored run the event turned out to be about', () => {
    const row = stateRowFor(taskRunFromEvent(event(), NOW, name), 'stored-id');
    expect(row).toMatchObject({
      id: EVENT_ID,
      task_run_id: 'stored-id',
      state_details: { task_run_id: 'stored-id', flow_run_id: FLOW_RUN_ID },
    });
  });
});
