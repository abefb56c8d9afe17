import fc from 'fast-check';
import { validateModel } from '../body-validation';
import { anyValue, dateTime, expectSameAsFullValidation, parsed, strayed } from './fast-path.spec-support';
import { setFlowRunStateFastPath } from './set-state-fast-path';
import { SetFlowRunStateDto } from './state.dto';

/** Values of every kind, and upper-case and unhyphenated UUIDs (the full validation lower-cases UUIDs). */
const strayValue = anyValue(
  'PENDING',
  '0B9F9F7E-6F1D-4A5E-9A47-2B2F8F0F1A11',
  '0b9f9f7e6f1d4a5e9a472b2f8f0f1a11',
  '{0b9f9f7e-6f1d-4a5e-9a47-2b2f8f0f1a11}',
);
const uuid = fc.oneof(fc.uuid(), fc.constant(null));
const optionalString = fc.oneof(fc.string(), fc.constant(null));
const optionalBoolean = fc.oneof(fc.boolean(), fc.constant(null));
/** A body of the shapes clients send: every value of the type its field declares. */
const simpleBody = fc.record(
  {
    state: fc.record(
      {
        type: fc.constantFrom('SCHEDULED', 'PENDING', 'RUNNING', 'COMPLETED', 'CANCELLING'),
        name: optionalString,
        message: optionalString,
        data: fc.constant(null),
        state_details: fc.record(
          {
            flow_run_id: uuid,
            task_run_id: uuid,
            child_flow_run_id: uuid,
            scheduled_time: dateTime,
            cache_key: optionalString,
            cache_expiration: dateTime,
            deferred: optionalBoolean,
            untrackable_result: fc.boolean(),
            pause_timeout: dateTime,
            pause_reschedule: fc.boolean(),
            pause_key: optionalString,
            run_input_keyset: fc.constant(null),
            refresh_cache: optionalBoolean,
            retriable: optionalBoolean,
            transition_id: uuid,
            task_parameters_id: uuid,
            traceparent: optionalString,
            deployment_concurrency_lease_id: uuid,
          },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: ['type'] },
    ),
    force: fc.boolean(),
  },
  { requiredKeys: ['state'] },
);
/** Where a body may stray: every field above and keys no model has. */
const FIELDS = [
  'state',
  'force',
  'unknown_key',
  'state.type',
  'state.name',
  'state.message',
  'state.data',
  'state.timestamp',
  'state.state_details',
  'state.state_details.flow_run_id',
  'state.state_details.transition_id',
  'state.state_details.scheduled_time',
  'state.state_details.untrackable_result',
  'state.state_details.pause_reschedule',
  'state.state_details.deferred',
  'state.state_details.run_input_keyset',
  'state.state_details.cache_key',
  'state.state_details.unknown_detail',
];
const body = strayed(simpleBody, FIELDS, strayValue);

/** What the full validation makes of the body: the instance, or null when it refuses it. */
function validated(raw: unknown): SetFlowRunStateDto | null {
  const result = validateModel(SetFlowRunStateDto, parsed(raw));
  return result.ok ? result.value : null;
}

describe('setFlowRunStateFastPath', () => {
  it('makes exactly the instance validateModel makes, whenever it makes one (property)', () => {
    expectSameAsFullValidation(setFlowRunStateFastPath, validated, body, { numRuns: 2000, minTaken: 200 });
  });

  // The second is what `propose_state(client, Pending(), flow_run_id=...)` sends (bench/dispatch.ts stockPendingBody).
  it("takes the bodies Prefect's client and workers send", () => {
    const sent: unknown[] = [
      { state: { type: 'PENDING', name: 'Pending' }, force: false },
      {
        state: {
          type: 'PENDING',
          name: 'Pending',
          message: null,
          data: null,
          state_details: {
            flow_run_id: '5d3c6a4e-1f2b-4c8d-9e7f-0a1b2c3d4e5f',
            task_run_id: null,
            child_flow_run_id: null,
            scheduled_time: null,
            cache_key: null,
            cache_expiration: null,
            deferred: null,
            untrackable_result: false,
            pause_timeout: null,
            pause_reschedule: false,
            pause_key: null,
            run_input_keyset: null,
            refresh_cache: null,
            retriable: null,
            transition_id: '0b9f9f7e-6f1d-4a5e-9a47-2b2f8f0f1a11',
            task_parameters_id: null,
            traceparent: null,
            deployment_concurrency_lease_id: null,
          },
        },
        force: false,
      },
    ];
    for (const raw of sent) {
      const fast = setFlowRunStateFastPath(parsed(raw));
      expect(fast).not.toBeNull();
      expect(fast).toStrictEqual(validated(raw));
    }
  });
});
