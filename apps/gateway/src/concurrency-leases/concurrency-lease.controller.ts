import { parseUuid, RenewConcurrencyLeaseDto, uuidError } from '@app/contracts';
import { validationFailed } from '@app/domain';
import { Body, Controller, HttpCode, Param, PipeTransform, Post } from '@nestjs/common';
import { ConcurrencyLeaseService } from './concurrency-lease.service';

/** The lease id is a plain `UUID` path parameter in Prefect: a malformed one is a validation error, not a miss. */
class LeaseIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    const id = parseUuid(value);
    if (id) return id;
    const error = uuidError(value);
    throw validationFailed([
      {
        type: 'uuid_parsing',
        loc: ['path', 'lease_id'],
        msg: `Input should be a valid UUID, ${error}`,
        input: value,
        ctx: { error },
      },
    ]);
  }
}

@Controller('v2/concurrency_limits/leases')
export class ConcurrencyLeaseController {
  constructor(private readonly leases: ConcurrencyLeaseService) {}

  @Post(':lease_id/renew')
  @HttpCode(204)
  renew(@Param('lease_id', LeaseIdPipe) leaseId: string, @Body() body: RenewConcurrencyLeaseDto): Promise<void> {
    return this.leases.renew(leaseId, body.lease_duration);
  }
}
