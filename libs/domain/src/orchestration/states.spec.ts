import { STATE_TYPES } from '@app/contracts';
import fc from 'fast-check';
import {
  defaultStateName,
  emptyStateDetails,
  persistedStateData,
  proposedState,
  StateDetails,
  stateDetailsFromJson,
  stateDetailsToJson,
  withoutDefaultDetails,
} from './states';

const NOW = new Date('2026-08-21T12:00:00.000Z');

describe('states', () => {
  it('names a state after its type, as Prefect does', () => {
    expect(STATE_TYPES.map(defaultStateName)).toEqual([
      'Scheduled',
      'Pending',
      'Running',
      'Completed',
      'Failed',
      'Cancelled',
      'Crashed',
      'Paused',
      'Cancelling',
    ]);
  });

  it('completes a proposal: default name, scheduled time now for SCHEDULED, every detail present', () => {
    const scheduled = proposedState({ type: 'SCHEDULED' }, NOW);
    expect(scheduled).toMatchObject({ name: 'Scheduled', timestamp: NOW, message: null, data: null });
    expect(scheduled.state_details).toEqual({ ...emptyStateDetails(), scheduled_time: NOW });

    const later = new Date('2026-08-21T13:00:00.000Z');
    const named = proposedState(
      { type: 'SCHEDULED', name: 'AwaitingRetry', state_details: { scheduled_time: later } },
      NOW,
    );
    expect(named).toMatchObject({ name: 'AwaitingRetry', state_details: { scheduled_time: later } });
    expect(proposedState({ type: 'PENDING', name: null }, NOW).state_details.scheduled_time).toBeNull();
  });

  it('round-trips state details through their stored JSON form, whole or without its defaults (property)', () => {
    const instant = fc.option(
      fc.integer({ min: 0, max: 4_102_444_800_000 }).map((ms) => new Date(ms)),
      { nil: null },
    );
    const id = fc.option(fc.uuid(), { nil: null });
    const details: fc.Arbitrary<StateDetails> = fc.record({
      flow_run_id: id,
      task_run_id: id,
      child_flow_run_id: id,
      scheduled_time: instant,
      cache_key: fc.option(fc.string(), { nil: null }),
      cache_expiration: instant,
      deferred: fc.option(fc.boolean(), { nil: null }),
      untrackable_result: fc.boolean(),
      pause_timeout: instant,
      pause_reschedule: fc.boolean(),
      pause_key: fc.option(fc.string(), { nil: null }),
      run_input_keyset: fc.option(fc.dictionary(fc.string(), fc.string()), { nil: null }),
      refresh_cache: fc.option(fc.boolean(), { nil: null }),
      retriable: fc.option(fc.boolean(), { nil: null }),
      transition_id: id,
      task_parameters_id: id,
      traceparent: fc.option(fc.string(), { nil: null }),
      deployment_concurrency_lease_id: id,
    });
    fc.assert(
      fc.property(details, (value) => {
        const json = JSON.parse(JSON.stringify(stateDetailsToJson(value))) as ReturnType<typeof stateDetailsToJson>;
        expect(stateDetailsFromJson(json)).toEqual(value);
        if (value.scheduled_time) expect(json.scheduled_time).toMatch(/Z$/);
        const compact = JSON.parse(JSON.stringify(withoutDefaultDetails(json))) as typeof json;
        expect(stateDetailsFromJson(compact)).toStrictEqual(stateDetailsFromJson(json));
      }),
    );
  });

  it('fills the defaults of details stored without some keys', () => {
    expect(stateDetailsFromJson({ scheduled_time: '2026-08-21T12:00:00Z' })).toEqual({
      ...emptyStateDetails(),
      scheduled_time: NOW,
    });
  });

  it('leaves out of stored details only the keys at their default', () => {
    const details = stateDetailsToJson({ ...emptyStateDetails(), scheduled_time: NOW, deferred: null });
    expect(withoutDefaultDetails({ ...details, flow_run_id: 'r' })).toEqual({
      flow_run_id: 'r',
      scheduled_time: '2026-08-21T12:00:00.000Z',
      deferred: null,
    });
  });

  it('forgets only results marked unpersisted', () => {
    expect(persistedStateData({ type: 'unpersisted' })).toBeNull();
    expect(persistedStateData({ type: 'reference', storage_key: 'k' })).toEqual({
      type: 'reference',
      storage_key: 'k',
    });
    expect(persistedStateData(42)).toBe(42);
  });
});
