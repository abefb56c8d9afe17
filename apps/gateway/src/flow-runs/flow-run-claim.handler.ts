import { CLAIM_PATTERN, claimSubjectPoolId } from '@app/contracts';
import { RpcReply } from '@app/messaging';
import { Controller } from '@nestjs/common';
import { Ctx, MessagePattern, NatsContext, Payload } from '@nestjs/microservices';
import { FlowRunClaimService } from './flow-run-claim.service';

/** Claims over NATS (`<namespace>.api.flow-runs.claim.<pool id>`) for workers that take runs straight from the bus. */
@Controller()
export class FlowRunClaimHandler {
  constructor(private readonly claims: FlowRunClaimService) {}

  @MessagePattern(CLAIM_PATTERN)
  claim(@Payload() request: unknown, @Ctx() context: NatsContext): Promise<RpcReply> {
    return this.claims.claim(claimSubjectPoolId(context.getSubject()), request);
  }
}
