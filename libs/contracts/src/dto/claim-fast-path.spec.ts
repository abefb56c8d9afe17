import fc from 'fast-check';
import { validateModel } from '../body-validation';
import { claimFlowRunFastPath, claimFlowRunsFastPath } from './claim-fast-path';
import { ClaimFlowRunRequestDto, ClaimFlowRunsRequestDto } from './claim.dto';
import { anyValue, expectSameAsFullValidation, parsed, strayed } from './fast-path.spec-support';

/** Values of every kind, and upper-case and unhyphenated UUIDs (the full validation lower-cases UUIDs). */
const strayValue = anyValue(
  '0B9F9F7E-6F1D-4A5E-9A47-2B2F8F0F1A11',
  '0b9f9f7e6f1d4a5e9a472b2f8f0f1a11',
  '{0b9f9f7e-6f1d-4a5e-9a47-2b2f8f0f1a11}',
  '00000000-0000-0000-0000-000000000000',
);
/** A claim as workers send it. */
const claimBody = fc
  .record({ flow_run_id: fc.uuid(), state_id: fc.uuid(), epoch: fc.nat(), transition_id: fc.uuid() })
  .map(({ flow_run_id, state_id, epoch, transition_id }) => ({
    flow_run_id,
    publication: `${flow_run_id}:${state_id}:${epoch}`,
    transition_id,
  }));
const CLAIM_FIELDS = ['flow_run_id', 'publication', 'transition_id', 'unknown_key'];
const claim = strayed(claimBody, CLAIM_FIELDS, strayValue);
/** Batches of such claims (some stray), with a claim repeated or a key of their own now and then. */
const batch = strayed(
  fc
    .array(fc.oneof(claimBody, claim), { minLength: 1, maxLength: 6 })
    .chain((claims) =>
      fc.boolean().map((repeat) => ({ claims: repeat && claims.length > 1 ? [...claims, claims[0]] : claims })),
    ),
  ['claims', 'unknown_key'],
  fc.oneof(strayValue, fc.constant([])),
);

function validated<T extends object>(model: new () => T) {
  return (raw: unknown): T | null => {
    const result = validateModel(model, parsed(raw));
    return result.ok ? result.value : null;
  };
}

describe('claimFlowRunFastPath', () => {
  it('makes exactly the instance validateModel makes, whenever it makes one (property)', () => {
    expectSameAsFullValidation(claimFlowRunFastPath, validated(ClaimFlowRunRequestDto), claim, {
      numRuns: 2000,
      minTaken: 200,
    });
  });
});

describe('claimFlowRunsFastPath', () => {
  it('makes exactly the instance validateModel makes, whenever it makes one (property)', () => {
    expectSameAsFullValidation(claimFlowRunsFastPath, validated(ClaimFlowRunsRequestDto), batch, {
      numRuns: 2000,
      minTaken: 200,
    });
  });

  it('takes the batches the example worker sends, and leaves a duplicate run or too many claims to validation', () => {
    const sent = fc.sample(claimBody, 256);
    const fast = claimFlowRunsFastPath(parsed({ claims: sent }));
    expect(fast).not.toBeNull();
    expect(fast).toStrictEqual(validated(ClaimFlowRunsRequestDto)({ claims: sent }));
    expect(claimFlowRunsFastPath(parsed({ claims: [...sent, fc.sample(claimBody, 1)[0]] }))).toBeNull();
    expect(claimFlowRunsFastPath(parsed({ claims: [sent[0], sent[0]] }))).toBeNull();
    expect(claimFlowRunsFastPath(parsed({ claims: [] }))).toBeNull();
  });
});
