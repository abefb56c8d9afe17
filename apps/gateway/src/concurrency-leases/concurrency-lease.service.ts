import { Database } from '@app/persistence';
import { GoneException, Injectable } from '@nestjs/common';

/** The leases of deployment concurrency slots, as the clients that hold them keep them alive. */
@Injectable()
export class ConcurrencyLeaseService {
  constructor(private readonly db: Database) {}

  /**
   * `POST /v2/concurrency_limits/leases/{lease_id}/renew`: a flow run's engine renews its deployment slot while it
   * runs. A lease that expired has given its slot up, so like one released or never made it is gone (410).
   */
  async renew(leaseId: string, leaseDurationSeconds: number): Promise<void> {
    const renewed = await this.db.transaction((tx) =>
      tx.deploymentConcurrencyLeases.renew(leaseId, leaseDurationSeconds),
    );
    // The domain errors have no 410; the exception filter renders this one as Prefect's {"detail": ...}.
    if (!renewed) throw new GoneException('Lease not found - it may have expired or been revoked');
  }
}
