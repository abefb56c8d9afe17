import { ClaimFlowRunRequestDto, ClaimFlowRunsRequestDto, MAX_CLAIMS_PER_REQUEST } from './claim.dto';

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * A UUID as validation keeps it: canonical (lower case, hyphenated), any version; every other spelling it takes is
 * converted (`parseUuid`), so it is left to validation.
 */
const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const isCanonicalUuid = (value: unknown): value is string => typeof value === 'string' && CANONICAL_UUID.test(value);

/**
 * `ClaimFlowRunRequestDto` for the claims workers send (`flow_run_id` and `transition_id` canonical UUIDs, a string
 * `publication`, nothing else), built straight from the JSON: the same instance `validateModel` makes of it, without
 * class-transformer and class-validator (about a tenth of the gateway's CPU per claim). Anything else is null: the
 * caller validates the body the full way, which also words every error. `claim-fast-path.spec.ts` holds it equal
 * to `validateModel`.
 */
export function claimFlowRunFastPath(raw: unknown): ClaimFlowRunRequestDto | null {
  if (!isPlainObject(raw) || Object.keys(raw).length !== 3) return null;
  const { flow_run_id: id, publication, transition_id: transitionId } = raw;
  if (!isCanonicalUuid(id) || typeof publication !== 'string' || !isCanonicalUuid(transitionId)) return null;
  const claim = new ClaimFlowRunRequestDto();
  claim.flow_run_id = id;
  claim.publication = publication;
  claim.transition_id = transitionId;
  return claim;
}

/** `ClaimFlowRunsRequestDto` as {@link claimFlowRunFastPath} builds each of its claims; null for anything else. */
export function claimFlowRunsFastPath(raw: unknown): ClaimFlowRunsRequestDto | null {
  if (!isPlainObject(raw) || Object.keys(raw).length !== 1) return null;
  const { claims } = raw;
  if (!Array.isArray(claims) || claims.length < 1 || claims.length > MAX_CLAIMS_PER_REQUEST) return null;
  const batch = new ClaimFlowRunsRequestDto();
  batch.claims = [];
  const ids = new Set<string>();
  for (const item of claims) {
    const claim = claimFlowRunFastPath(item);
    if (!claim || ids.has(claim.flow_run_id)) return null;
    ids.add(claim.flow_run_id);
    batch.claims.push(claim);
  }
  return batch;
}
