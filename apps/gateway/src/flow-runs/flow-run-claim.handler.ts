import { CLAIM_PATTERN, CLAIMS_PATTERN, claimSubjectPoolId } from '@app/contracts';
import { RpcReply } from '@app/messaging';
import { Controller, UseFilters } from '@nestjs/common';
import { Ctx, MessagePattern, NatsContext, Payload } from '@nestjs/microservices';
import { PrefectRpcExceptionFilter } from '@gateway/errors/prefect-rpc-exception.filter';
import { ClaimRequestPipe, ClaimsRequestPipe, ValidClaim } from './claim-request.pipe';
import { FlowRunClaimService } from './flow-run-claim.service';

/**
 * Claims over NATS for workers that take runs straight from the bus: one run per request on
 * `<namespace>.api.flow-runs.claim.<pool id>`, several on `<namespace>.api.flow-runs.claims.<pool id>`.
 */
@Controller()
@UseFilters(PrefectRpcExceptionFilter)
export class FlowRunClaimHandler {
  constructor(private readonly claims: FlowRunClaimService) {}

  @MessagePattern(CLAIM_PATTERN)
  claim(@Payload(ClaimRequestPipe) claim: ValidClaim, @Ctx() context: NatsContext): Promise<RpcReply> {
    return this.claims.claim(claimSubjectPoolId(context.getSubject()), claim);
  }

  @MessagePattern(CLAIMS_PATTERN)
  claimAll(@Payload(ClaimsRequestPipe) claims: ValidClaim[], @Ctx() context: NatsContext): Promise<RpcReply> {
    return this.claims.claimAll(claimSubjectPoolId(context.getSubject()), claims);
  }
}
