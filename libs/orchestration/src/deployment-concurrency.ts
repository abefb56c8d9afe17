import { AppConfig } from '@app/config';
import type { DeploymentConcurrency } from '@app/domain';
import type { Transaction } from '@app/persistence';

/** Deployment concurrency as the rules of one transition see it: read and held within its transaction. */
export function transactionalDeploymentConcurrency(tx: Transaction, config: AppConfig): DeploymentConcurrency {
  return {
    deployments: tx.deployments,
    leases: tx.deploymentConcurrencyLeases,
    slotWaitSeconds: config.deploymentConcurrency.slotWaitSeconds,
    defaultLeaseSeconds: config.deploymentConcurrency.leaseSeconds,
  };
}
