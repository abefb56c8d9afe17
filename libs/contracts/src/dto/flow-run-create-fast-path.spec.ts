import fc from 'fast-check';
import { validateModel } from '../body-validation';
import { anyValue, dateTime, expectSameAsFullValidation, parsed, strayed } from './fast-path.spec-support';
import { deploymentFlowRunCreateFastPath } from './flow-run-create-fast-path';
import { DeploymentFlowRunCreateDto } from './flow-run.dto';

const json = fc.jsonValue({ maxDepth: 2 });
/** A body of the shapes clients send: every value of the type its field declares. */
const simpleBody = fc.record(
  {
    parameters: fc.dictionary(fc.string(), json, { maxKeys: 4 }),
    state: fc.oneof(
      fc.constant(null),
      fc.record(
        {
          type: fc.constantFrom('SCHEDULED', 'PENDING', 'RUNNING', 'PAUSED'),
          name: fc.oneof(fc.string(), fc.constant(null)),
          message: fc.oneof(fc.string(), fc.constant(null)),
          state_details: fc.record({ scheduled_time: dateTime }, { requiredKeys: [] }),
        },
        { requiredKeys: ['type'] },
      ),
    ),
    name: fc.oneof(fc.string(), fc.constant(null)),
    idempotency_key: fc.oneof(fc.string(), fc.constant(null)),
    work_queue_name: fc.oneof(fc.string(), fc.constant(null)),
    enforce_parameter_schema: fc.oneof(fc.boolean(), fc.constant(null)),
    context: fc.dictionary(fc.string(), json, { maxKeys: 3 }),
    job_variables: fc.oneof(fc.dictionary(fc.string(), json, { maxKeys: 3 }), fc.constant(null)),
    tags: fc.array(fc.string(), { maxLength: 3 }),
    labels: fc.oneof(fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer(), fc.boolean())), fc.constant(null)),
  },
  { requiredKeys: [] },
);
/** Where a body may stray: every field above, fields the fast path leaves alone, and the state's parts. */
const FIELDS = [
  'parameters',
  'state',
  'name',
  'idempotency_key',
  'work_queue_name',
  'enforce_parameter_schema',
  'context',
  'job_variables',
  'tags',
  'labels',
  'empirical_policy',
  'infrastructure_document_id',
  'parent_task_run_id',
  'unknown_key',
  'state.type',
  'state.name',
  'state.data',
  'state.state_details',
  'state.state_details.scheduled_time',
  'state.state_details.flow_run_id',
];
const body = strayed(simpleBody, FIELDS, anyValue('SCHEDULED'));

/** What the full validation makes of the body: the instance, or null when it refuses it. */
function validated(raw: unknown): DeploymentFlowRunCreateDto | null {
  const result = validateModel(DeploymentFlowRunCreateDto, parsed(raw), ['body', 0]);
  return result.ok ? result.value : null;
}

describe('deploymentFlowRunCreateFastPath', () => {
  it('makes exactly the instance validateModel makes, whenever it makes one (property)', () => {
    expectSameAsFullValidation(deploymentFlowRunCreateFastPath, validated, body, { numRuns: 1500, minTaken: 100 });
  });

  it('takes the bodies clients send for a bulk of runs', () => {
    const sent: unknown[] = [
      undefined,
      null,
      {},
      { parameters: { n: 1, nested: { list: [1, 'a', null] } } },
      {
        parameters: { n: 1 },
        state: { type: 'SCHEDULED', state_details: { scheduled_time: '2026-06-01T12:00:00+02:00' } },
      },
      { name: 'run', tags: ['a'], idempotency_key: 'k', work_queue_name: 'q', enforce_parameter_schema: false },
      { state: { type: 'SCHEDULED', name: 'Later', message: null, state_details: {} }, job_variables: null },
      { context: { a: 1 }, job_variables: { image: 'x' }, labels: { team: 'a', n: 1, on: true } },
    ];
    for (const raw of sent) {
      const fast = deploymentFlowRunCreateFastPath(parsed(raw));
      expect(fast).not.toBeNull();
      expect(fast).toStrictEqual(validated(raw));
    }
  });

  it('leaves anything else to the full validation', () => {
    const others: unknown[] = [
      [],
      'text',
      { parameters: null },
      { tags: 'x' },
      { enforce_parameter_schema: 'yes' },
      { state: { type: 'scheduled' } },
      { state: { type: 'SCHEDULED', state_details: { scheduled_time: 'soon' } } },
      { state: { type: 'SCHEDULED', state_details: { flow_run_id: '00000000-0000-4000-8000-000000000000' } } },
      { empirical_policy: { retries: 1 } },
      { unknown: 1 },
      { constructor: {} },
      { toString: 'x' },
      JSON.parse('{"parameters": {"__proto__": {"polluted": true}}}'),
      { parameters: { big: 'x'.repeat(524_288) } },
    ];
    for (const raw of others) expect(deploymentFlowRunCreateFastPath(raw)).toBeNull();
  });
});
