import {
  claimFlowRunFastPath,
  ClaimFlowRunRequestDto,
  ClaimFlowRunsRequestDto,
  claimFlowRunsFastPath,
  PydanticErrorDetail,
  validateModel,
  ValidationResult,
} from '@app/contracts';
import { RunPublication, validationFailed } from '@app/domain';
import { parseMessageId } from '@app/messaging';
import { PipeTransform } from '@nestjs/common';

/** A claim that passed validation: its request, and the publication its `publication` names. */
export interface ValidClaim {
  request: ClaimFlowRunRequestDto;
  offer: RunPublication;
}

/**
 * Validates a NATS claim's payload as the HTTP pipe validates a body (pydantic's error shape), and checks that its
 * `publication` is the `Nats-Msg-Id` of a message of the run it claims.
 */
export class ClaimRequestPipe implements PipeTransform<unknown, ValidClaim> {
  transform(value: unknown): ValidClaim {
    const [claim] = validClaims(
      validated(ClaimFlowRunRequestDto, claimFlowRunFastPath, value),
      (request) => [request],
      () => ['body'],
    );
    return claim;
  }
}

/**
 * Validates a NATS batch claim's payload as {@link ClaimRequestPipe} validates a single claim, every claim of it:
 * one malformed claim refuses the whole batch, each error located in the batch (`["body", "claims", 2, ...]`).
 */
export class ClaimsRequestPipe implements PipeTransform<unknown, ValidClaim[]> {
  transform(value: unknown): ValidClaim[] {
    return validClaims(
      validated(ClaimFlowRunsRequestDto, claimFlowRunsFastPath, value),
      (batch) => batch.claims,
      (i) => ['body', 'claims', i],
    );
  }
}

/** The body as its fast path builds it (what workers send), else as the full validation does, errors worded. */
function validated<Body extends object>(
  model: new () => Body,
  fastPath: (raw: unknown) => Body | null,
  raw: unknown,
): ValidationResult<Body> {
  const fast = fastPath(raw);
  return fast ? { ok: true, value: fast } : validateModel(model, raw);
}

/** The claims of a validated body with the publications they name; a 422 if the body or a publication is not valid. */
function validClaims<Body>(
  parsed: ValidationResult<Body>,
  claimsOf: (body: Body) => ClaimFlowRunRequestDto[],
  locOf: (index: number) => (string | number)[],
): ValidClaim[] {
  if (!parsed.ok) throw validationFailed(parsed.errors);
  const claims: ValidClaim[] = [];
  const errors: PydanticErrorDetail[] = [];
  claimsOf(parsed.value).forEach((request, i) => {
    const offer = parseMessageId(request.publication);
    if (offer?.runId === request.flow_run_id) {
      claims.push({ request, offer });
      return;
    }
    errors.push({
      type: 'value_error',
      loc: [...locOf(i), 'publication'],
      msg: 'Value error, not the Nats-Msg-Id of a message of this flow run',
      input: request.publication,
    });
  });
  if (errors.length > 0) throw validationFailed(errors);
  return claims;
}
