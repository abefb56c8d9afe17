import fc from 'fast-check';
import { validateModel } from '../body-validation';
import { setFlowRunStateFastPath } from './set-state-fast-path';
import { SetFlowRunStateDto } from './state.dto';

const json = fc.jsonValue({ maxDepth: 2 });
/** Values of every kind, valid and not, including those lax validation converts ("yes", 1, "2026-01-01"). */
const anyValue = fc.oneof(
  json,
  fc.constantFrom('yes', 'true', 1, 0, '1', '', 'PENDING', '2026-01-01T00:00:00Z', '2026-01-01', 1_767_225_600),
  fc.constantFrom(
    '0B9F9F7E-6F1D-4A5E-9A47-2B2F8F0F1A11',
    '0b9f9f7e6f1d4a5e9a472b2f8f0f1a11',
    '{0b9f9f7e-6f1d-4a5e-9a47-2b2f8f0f1a11}',
  ),
);
const dateTime = fc.oneof(
  fc
    .date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
    .map((d) => d.toISOString()),
  fc.constantFrom('2026-06-01T12:00:00+02:00', '2026-06-01T12:00:00.123456Z', null),
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
/** A body of those shapes with one value (or more) replaced by anything at all, valid or not. */
const body = fc.oneof(
  simpleBody,
  fc
    .tuple(simpleBody, fc.array(fc.tuple(fc.constantFrom(...FIELDS), anyValue), { minLength: 1, maxLength: 2 }))
    .map(([raw, changes]) => {
      const out: Record<string, any> = JSON.parse(JSON.stringify(raw));
      for (const [path, value] of changes) {
        const keys = path.split('.');
        let at = out;
        for (const key of keys.slice(0, -1)) {
          if (typeof at[key] !== 'object' || at[key] === null || Array.isArray(at[key])) at[key] = {};
          at = at[key];
        }
        at[keys[keys.length - 1]] = value;
      }
      return out;
    }),
);

/** The body as the gateway parses it (structuredClone would make objects of another realm under Jest). */
const parsed = (raw: unknown): unknown => (raw === undefined ? undefined : JSON.parse(JSON.stringify(raw)));

/** What the full validation makes of the body: the instance, or null when it refuses it. */
function validated(raw: unknown): SetFlowRunStateDto | null {
  const result = validateModel(SetFlowRunStateDto, parsed(raw));
  return result.ok ? result.value : null;
}

describe('setFlowRunStateFastPath', () => {
  it('makes exactly the instance validateModel makes, whenever it makes one (property)', () => {
    let taken = 0;
    fc.assert(
      fc.property(body, (raw) => {
        const fast = setFlowRunStateFastPath(parsed(raw));
        if (fast === null) return;
        taken++;
        const full = validated(raw);
        expect(full).not.toBeNull();
        expect(fast).toStrictEqual(full);
      }),
      { numRuns: 2000 },
    );
    // The generator must reach the fast path often enough for the comparison to mean something.
    expect(taken).toBeGreaterThan(200);
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
