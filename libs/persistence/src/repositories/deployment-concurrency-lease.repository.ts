import { EntityManager } from 'typeorm';
import { DeploymentConcurrencyLeaseEntity } from '../entities';
import { EntityRepository } from './entity-repository';

// Instants come from the database clock, so that every gateway replica agrees on which leases are live.
const LIVE = `(expires_at IS NULL OR expires_at > clock_timestamp())`;

/**
 * Deployment concurrency slots as leases. Every statement that decides whether a lease is live, or makes one, runs
 * under the deployment's advisory lock (held until the transaction ends), so replicas serialise per deployment:
 * two claims never take the last slot together, and a renewal never revives a lease a claim has just counted out.
 */
export class DeploymentConcurrencyLeaseRepository extends EntityRepository<DeploymentConcurrencyLeaseEntity> {
  constructor(manager: EntityManager) {
    super(manager, DeploymentConcurrencyLeaseEntity);
  }

  /**
   * Takes one of the deployment's `limit` slots for the run, leased for `ttlSeconds`, unless live leases hold them
   * all: resolves to the new lease's id, or null. Expired leases are dropped on the way. Must run inside a
   * transaction.
   */
  async acquire(deploymentId: string, flowRunId: string, limit: number, ttlSeconds: number): Promise<string | null> {
    await this.lockDeployment(deploymentId);
    await this.manager.query(`DELETE FROM deployment_concurrency_lease WHERE deployment_id = $1 AND NOT ${LIVE}`, [
      deploymentId,
    ]);
    const rows = await this.manager.query<{ id: string }[]>(
      `INSERT INTO deployment_concurrency_lease (deployment_id, flow_run_id, expires_at)
       SELECT $1, $2, clock_timestamp() + make_interval(secs => $4)
       WHERE (SELECT count(*) FROM deployment_concurrency_lease WHERE deployment_id = $1) < $3
       RETURNING id`,
      [deploymentId, flowRunId, limit, ttlSeconds],
    );
    return rows[0]?.id ?? null;
  }

  /**
   * Extends a live lease to `ttlSeconds` from now (one held until released stays so); false when it expired or
   * is gone. Must run inside a transaction.
   */
  renew(leaseId: string, ttlSeconds: number): Promise<boolean> {
    return this.updateLive(
      leaseId,
      `CASE WHEN expires_at IS NULL THEN NULL ELSE clock_timestamp() + make_interval(secs => :ttlSeconds) END`,
      {
        ttlSeconds,
      },
    );
  }

  /** Makes a live lease last until it is released; false when it expired or is gone. Must run inside a transaction. */
  holdUntilReleased(leaseId: string): Promise<boolean> {
    return this.updateLive(leaseId, 'NULL');
  }

  /** Frees every slot the run holds. */
  async releaseHeldBy(flowRunId: string): Promise<void> {
    await this.repo.delete({ flow_run_id: flowRunId });
  }

  /** How many of the deployment's slots are busy now. */
  async countLive(deploymentId: string): Promise<number> {
    const [row] = await this.manager.query<{ count: number }[]>(
      `SELECT count(*)::int AS count FROM deployment_concurrency_lease WHERE deployment_id = $1 AND ${LIVE}`,
      [deploymentId],
    );
    return row.count;
  }

  /** {@link countLive} for many deployments at once; those without a live lease are absent. */
  async countLiveByDeployment(deploymentIds: readonly string[]): Promise<Map<string, number>> {
    if (deploymentIds.length === 0) return new Map();
    const rows = await this.manager.query<{ deployment_id: string; count: number }[]>(
      `SELECT deployment_id, count(*)::int AS count FROM deployment_concurrency_lease
        WHERE deployment_id = ANY($1) AND ${LIVE} GROUP BY deployment_id`,
      [deploymentIds],
    );
    return new Map(rows.map((row) => [row.deployment_id, row.count]));
  }

  private async updateLive(
    leaseId: string,
    expiresAt: string,
    parameters: Record<string, unknown> = {},
  ): Promise<boolean> {
    const lease = await this.findById(leaseId);
    if (!lease) return false;
    await this.lockDeployment(lease.deployment_id);
    const result = await this.repo
      .createQueryBuilder()
      .update()
      .set({ expires_at: () => expiresAt })
      .where(`id = :leaseId AND ${LIVE}`, { ...parameters, leaseId })
      .execute();
    return (result.affected ?? 0) > 0;
  }

  private async lockDeployment(deploymentId: string): Promise<void> {
    await this.manager.query(`SELECT pg_advisory_xact_lock(hashtextextended('deployment-concurrency:' || $1, 0))`, [
      deploymentId,
    ]);
  }
}
