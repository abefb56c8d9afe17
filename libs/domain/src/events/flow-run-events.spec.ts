import { newState } from '../orchestration/states';
import { FlowRunEventSubject, flowRunStateEvent, truncatedTo } from './flow-run-events';

const AT = new Date('2026-08-21T12:00:00.123Z');
const RUN_ID = '6b4b2307-2c0f-4fba-a921-485b4e6fed89';

function subject(overrides: Partial<FlowRunEventSubject> = {}): FlowRunEventSubject {
  return {
    run: { id: RUN_ID, name: 'crimson-tortoise', tags: ['nightly', 'etl'], run_count: 1, created_by: null },
    flow: { id: 'f1', name: 'etl-flow', tags: ['etl', 'team-a'] },
    deployment: { id: 'd1', name: 'etl-deployment', tags: ['prod'] },
    workQueue: { id: 'q1', name: 'default' },
    workPool: { id: 'p1', name: 'k8s-pool', type: 'kubernetes' },
    ...overrides,
  };
}

describe('flowRunStateEvent (InstrumentFlowRunStateTransitions)', () => {
  const initial = newState('PENDING', new Date(AT.getTime() - 2000));
  const running = newState('RUNNING', AT);

  it('names the event after the new state and identifies it by the state id', () => {
    const event = flowRunStateEvent(subject(), initial, running);
    expect(event).toMatchObject({
      id: running.id,
      event: 'prefect.flow-run.Running',
      occurred: '2026-08-21T12:00:00.123Z',
      follows: initial.id,
    });
    expect(event.resource).toEqual({
      'prefect.resource.id': `prefect.flow-run.${RUN_ID}`,
      'prefect.resource.name': 'crimson-tortoise',
      'prefect.run-count': '1',
      'prefect.state-message': '',
      'prefect.state-name': 'Running',
      'prefect.state-timestamp': '2026-08-21T12:00:00.123000+00:00',
      'prefect.state-type': 'RUNNING',
    });
    expect(event.payload).toEqual({
      intended: { from: 'PENDING', to: 'RUNNING' },
      initial_state: { type: 'PENDING', name: 'Pending' },
      validated_state: { type: 'RUNNING', name: 'Running' },
    });
  });

  it('relates flow, deployment, queue and pool, then the sorted distinct tags of run, flow and deployment', () => {
    expect(flowRunStateEvent(subject(), initial, running).related).toEqual([
      {
        'prefect.resource.id': 'prefect.flow.f1',
        'prefect.resource.role': 'flow',
        'prefect.resource.name': 'etl-flow',
      },
      {
        'prefect.resource.id': 'prefect.deployment.d1',
        'prefect.resource.role': 'deployment',
        'prefect.resource.name': 'etl-deployment',
      },
      {
        'prefect.resource.id': 'prefect.work-queue.q1',
        'prefect.resource.role': 'work-queue',
        'prefect.resource.name': 'default',
      },
      {
        'prefect.resource.id': 'prefect.work-pool.p1',
        'prefect.resource.role': 'work-pool',
        'prefect.resource.name': 'k8s-pool',
        'prefect.work-pool.type': 'kubernetes',
      },
      { 'prefect.resource.id': 'prefect.tag.etl', 'prefect.resource.role': 'tag' },
      { 'prefect.resource.id': 'prefect.tag.nightly', 'prefect.resource.role': 'tag' },
      { 'prefect.resource.id': 'prefect.tag.prod', 'prefect.resource.role': 'tag' },
      { 'prefect.resource.id': 'prefect.tag.team-a', 'prefect.resource.role': 'tag' },
    ]);
  });

  it('relates only what the run has, and the deployment or automation that created it', () => {
    const adHoc = subject({
      deployment: null,
      workQueue: null,
      workPool: null,
      flow: { id: 'f1', name: 'etl-flow', tags: [] },
    });
    adHoc.run = {
      ...adHoc.run,
      tags: [],
      created_by: { id: 'a1', type: 'AUTOMATION', display_value: 'nightly-trigger' },
    };
    expect(flowRunStateEvent(adHoc, null, running).related).toEqual([
      {
        'prefect.resource.id': 'prefect.flow.f1',
        'prefect.resource.role': 'flow',
        'prefect.resource.name': 'etl-flow',
      },
      {
        'prefect.resource.id': 'prefect.automation.a1',
        'prefect.resource.role': 'creator',
        'prefect.resource.name': 'nightly-trigger',
      },
    ]);
    adHoc.run = { ...adHoc.run, created_by: { id: 'u1', type: 'USER', display_value: 'me' } };
    expect(flowRunStateEvent(adHoc, null, running).related).toHaveLength(1);
  });

  it("keeps the related resources within Prefect's limit of 500, one place left for the creator", () => {
    const tags = Array.from({ length: 600 }, (_, i) => `tag-${String(i).padStart(3, '0')}`);
    const crowded = subject();
    crowded.run = { ...crowded.run, tags, created_by: { id: 'd9', type: 'DEPLOYMENT', display_value: null } };
    const related = flowRunStateEvent(crowded, null, running).related;
    expect(related).toHaveLength(500);
    expect(related.filter((resource) => resource['prefect.resource.role'] === 'tag')).toHaveLength(495);
    expect(related.at(-1)).toEqual({
      'prefect.resource.id': 'prefect.deployment.d9',
      'prefect.resource.role': 'creator',
    });
  });

  it('has no predecessor for a first state, or after a long gap', () => {
    const first = flowRunStateEvent(subject(), null, newState('SCHEDULED', AT));
    expect(first.follows).toBeNull();
    expect(first.payload).toMatchObject({ intended: { from: null, to: 'SCHEDULED' }, initial_state: null });
    const old = newState('PENDING', new Date(AT.getTime() - 5 * 60_000));
    expect(flowRunStateEvent(subject(), old, running).follows).toBeNull();
  });

  it('reports messages, truncated, and whether a pause reschedules', () => {
    const paused = newState('PAUSED', AT, {
      name: 'Suspended',
      message: 'waiting for input',
      state_details: { pause_reschedule: true },
    });
    const event = flowRunStateEvent(subject(), running, paused);
    expect(event.event).toBe('prefect.flow-run.Suspended');
    expect(event.resource['prefect.state-message']).toBe('waiting for input');
    expect(event.payload.validated_state).toEqual({
      type: 'PAUSED',
      name: 'Suspended',
      message: 'waiting for input',
      pause_reschedule: 'true',
    });
    const whole = newState('RUNNING', new Date('2026-08-21T12:00:00.000Z'));
    expect(flowRunStateEvent(subject(), null, whole).resource['prefect.state-timestamp']).toBe(
      '2026-08-21T12:00:00+00:00',
    );
  });
});

describe("truncatedTo (Prefect's truncated_to)", () => {
  it('keeps both ends of an overlong text around a count of what was left out', () => {
    expect(truncatedTo(10, null)).toBe('');
    expect(truncatedTo(10, 'short')).toBe('short');
    const long = 'a'.repeat(50) + 'b'.repeat(50);
    expect(truncatedTo(20, long)).toBe(`${'a'.repeat(10)}...80 additional characters...${'b'.repeat(10)}`);
    // Not worth it when the result would not be shorter.
    expect(truncatedTo(10, 'x'.repeat(12))).toBe('x'.repeat(12));
  });
});
