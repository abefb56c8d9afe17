import { EntityManager, In } from 'typeorm';
import { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { DeploymentScheduleEntity } from '../entities';
import { EntityRepository } from './entity-repository';

export type DeploymentScheduleValues = Pick<
  DeploymentScheduleEntity,
  'schedule' | 'active' | 'max_scheduled_runs' | 'parameters' | 'slug'
>;

export class DeploymentScheduleRepository extends EntityRepository<DeploymentScheduleEntity> {
  constructor(manager: EntityManager) {
    super(manager, DeploymentScheduleEntity);
  }

  /** The deployment's schedules, most recently updated first. */
  listForDeployment(deploymentId: string): Promise<DeploymentScheduleEntity[]> {
    return this.repo.find({ where: { deployment_id: deploymentId }, order: { updated: 'DESC' } });
  }

  /**
   * Inserts the schedules in order. A schedule whose slug the deployment already uses (or that repeats an
   * earlier one in the list) is skipped, so callers compare lengths to detect slug collisions. Each row is stamped
   * a microsecond after the one before, as Prefect stamps each of its objects when it builds it, so that the
   * newest-first order lists them last to first.
   */
  async insertMany(deploymentId: string, schedules: DeploymentScheduleValues[]): Promise<DeploymentScheduleEntity[]> {
    if (schedules.length === 0) return [];
    const rows = schedules.map((schedule, index) => {
      const stamp = () => `now() + make_interval(secs => ${index} * 0.000001)`;
      return { ...schedule, deployment_id: deploymentId, created: stamp, updated: stamp };
    });
    const result = await this.repo
      .createQueryBuilder()
      .insert()
      .values(rows as QueryDeepPartialEntity<DeploymentScheduleEntity>[])
      .orIgnore()
      .returning('*')
      .execute();
    return (result.raw as DeploymentScheduleEntity[]).map((row) => this.repo.create(row));
  }

  /** Updates one of the deployment's schedules, found by id or by slug; resolves to whether one matched. */
  async updateForDeployment(
    deploymentId: string,
    target: { id: string } | { slug: string },
    values: Partial<DeploymentScheduleValues>,
  ): Promise<boolean> {
    const changes = { ...values, updated: new Date() } as QueryDeepPartialEntity<DeploymentScheduleEntity>;
    const result = await this.repo.update({ ...target, deployment_id: deploymentId }, changes);
    return (result.affected ?? 0) > 0;
  }

  async findIdBySlug(deploymentId: string, slug: string): Promise<string | null> {
    const row = await this.repo.findOne({ select: { id: true }, where: { deployment_id: deploymentId, slug } });
    return row?.id ?? null;
  }

  async clearSlugs(deploymentId: string, slugs: string[]): Promise<void> {
    if (slugs.length > 0) await this.repo.update({ deployment_id: deploymentId, slug: In(slugs) }, { slug: null });
  }

  async deleteForDeployment(deploymentId: string): Promise<void> {
    await this.repo.delete({ deployment_id: deploymentId });
  }

  async deleteForDeploymentById(deploymentId: string, id: string): Promise<boolean> {
    const result = await this.repo.delete({ deployment_id: deploymentId, id });
    return (result.affected ?? 0) > 0;
  }
}
