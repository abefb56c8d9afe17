import { IsNumber, Max, Min } from 'class-validator';
import { NullMeansDefault } from './validators';
import { EmbeddedBody } from '../body-validation';

/** How long a renewed lease lasts when the client does not say. */
export const DEFAULT_LEASE_DURATION_SECONDS = 300;

/** The embedded body of `POST /v2/concurrency_limits/leases/{lease_id}/renew`: unknown keys are dropped. */
@EmbeddedBody()
export class RenewConcurrencyLeaseDto {
  @NullMeansDefault(DEFAULT_LEASE_DURATION_SECONDS)
  @IsNumber()
  @Min(60)
  @Max(86400)
  lease_duration: number = DEFAULT_LEASE_DURATION_SECONDS;
}
