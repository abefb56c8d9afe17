import { AppConfig } from '@app/config';
import type { DeploymentConcurrency, DeploymentConcurrencySettings } from '@app/domain';
import type { Transaction } from '@app/persistence';

/**
 * Deployment concurrency as the rules of one transition see it: read and held within its transaction. `known` is the
 * run's deployment when the transition read it already (in the same transaction), so the rules do not read it again.
 */
export function transactionalDeploymentConcurrency(
  tx: Transaction,
  config: AppConfig,
  known: (DeploymentConcurrencySettings & { id: string }) | null = null,
): DeploymentConcurrency {
  return {
    deployments: known
      ? { findById: (id) => (id === known.id ? Promise.resolve(known) : tx.deployments.findById(id)) }
      : tx.deployments,
    leases: tx.deploymentConcurrencyLeases,
    slotWaitSeconds: config.deploymentConcurrency.slotWaitSeconds,
    defaultLeaseSeconds: config.deploymentConcurrency.leaseSeconds,
  };
}
