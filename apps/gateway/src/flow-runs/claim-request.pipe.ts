import { ClaimFlowRunRequestDto, validateModel } from '@app/contracts';
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
    const parsed = validateModel(ClaimFlowRunRequestDto, value);
    if (!parsed.ok) throw validationFailed(parsed.errors);
    const { flow_run_id: id, publication } = parsed.value;
    const offer = parseMessageId(publication);
    if (offer?.runId !== id) {
      const detail = {
        type: 'value_error',
        loc: ['body', 'publication'],
        msg: 'Value error, not the Nats-Msg-Id of a message of this flow run',
        input: publication,
      };
      throw validationFailed([detail]);
    }
    return { request: parsed.value, offer };
  }
}
