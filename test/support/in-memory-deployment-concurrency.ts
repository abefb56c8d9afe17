import { randomUUID } from 'node:crypto';
import type { DeploymentConcurrency, DeploymentConcurrencySettings, DeploymentLeases } from '@app/domain';

interface Lease {
  deploymentId: string;
  flowRunId: string;
  /** Epoch milliseconds; null: held until released. */
  expiresAt: number | null;
}

/**
 * Deployment concurrency held in memory, on a clock the caller moves: what unit tests give the rules in place of
 * the database. Deployments are known only once `deploy`ed.
 */
export class InMemoryDeploymentConcurrency implements DeploymentConcurrency {
  readonly slotWaitSeconds = 30;
  readonly defaultLeaseSeconds = 300;
  readonly deployments = {
    findById: (id: string): Promise<DeploymentConcurrencySettings | null> =>
      Promise.resolve(this.settings.get(id) ?? null),
  };
  readonly leases: DeploymentLeases = {
    acquire: (deploymentId, flowRunId, limit, ttlSeconds) => {
      if (this.live(deploymentId).length >= limit) return Promise.resolve(null);
      const id = randomUUID();
      this.held.set(id, { deploymentId, flowRunId, expiresAt: this.now() + ttlSeconds * 1000 });
      return Promise.resolve(id);
    },
    renew: (leaseId, ttlSeconds) =>
      this.updateLive(leaseId, (lease) => (lease.expiresAt === null ? null : this.now() + ttlSeconds * 1000)),
    holdUntilReleased: (leaseId) => this.updateLive(leaseId, () => null),
    releaseHeldBy: (flowRunId) => {
      for (const [id, lease] of this.held) if (lease.flowRunId === flowRunId) this.held.delete(id);
      return Promise.resolve();
    },
    countLive: (deploymentId) => Promise.resolve(this.live(deploymentId).length),
  };
  private readonly settings = new Map<string, DeploymentConcurrencySettings>();
  private readonly held = new Map<string, Lease>();

  constructor(public now: () => number = Date.now) {}

  deploy(id: string, settings: Partial<DeploymentConcurrencySettings> = {}): void {
    this.settings.set(id, { concurrency_limit: null, concurrency_options: null, ...settings });
  }

  /** The runs holding a live lease of the deployment. */
  holders(deploymentId: string): string[] {
    return this.live(deploymentId).map((lease) => lease.flowRunId);
  }

  private isLive(lease: Lease): boolean {
    return lease.expiresAt === null || lease.expiresAt > this.now();
  }

  private live(deploymentId: string): Lease[] {
    return [...this.held.values()].filter((lease) => lease.deploymentId === deploymentId && this.isLive(lease));
  }

  private updateLive(leaseId: string, expiresAt: (lease: Lease) => number | null): Promise<boolean> {
    const lease = this.held.get(leaseId);
    if (!lease || !this.isLive(lease)) return Promise.resolve(false);
    lease.expiresAt = expiresAt(lease);
    return Promise.resolve(true);
  }
}
