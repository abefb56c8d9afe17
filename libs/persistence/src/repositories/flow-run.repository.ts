import { EntityManager, SelectQueryBuilder } from 'typeorm';
import { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { FlowRunEntity, FlowRunStateEntity } from '../entities';
import { EntityRepository } from './entity-repository';

export class FlowRunRepository extends EntityRepository<FlowRunEntity> {
  constructor(manager: EntityManager) {
    super(manager, FlowRunEntity);
  }

  /** A run with its current state, its work queue and that queue's pool (what a `FlowRunResponse` shows). */
  findDetailedById(id: string): Promise<FlowRunEntity | null> {
    return this.detailed().where('run.id = :id', { id }).getOne();
  }

  /** Runs with their state, queue and pool, in the order of `ids`; unknown ids are skipped. */
  async findDetailedByIds(ids: string[]): Promise<FlowRunEntity[]> {
    if (ids.length === 0) return [];
    const runs = await this.detailed().where('run.id IN (:...ids)', { ids }).getMany();
    const byId = new Map(runs.map((run) => [run.id, run]));
    return ids.flatMap((id) => byId.get(id) ?? []);
  }

  /** `updateById` for plain field values (TypeORM's partial type refuses JSON columns typed as records). */
  patch(id: string, values: Partial<Omit<FlowRunEntity, 'id'>>): Promise<boolean> {
    return this.updateById(id, values as QueryDeepPartialEntity<FlowRunEntity>);
  }

  findByIdempotencyKey(flowId: string, idempotencyKey: string): Promise<FlowRunEntity | null> {
    return this.repo.findOneBy({ flow_id: flowId, idempotency_key: idempotencyKey });
  }

  /** Shallow-merges `labels` into the run's labels in one statement; resolves to whether the run exists. */
  async mergeLabels(id: string, labels: Record<string, unknown>): Promise<boolean> {
    const result = await this.repo
      .createQueryBuilder()
      .update()
      .set({ labels: () => `COALESCE(labels, '{}'::jsonb) || CAST(:labels AS jsonb)` })
      .where('id = :id', { id, labels: JSON.stringify(labels) })
      .execute();
    return (result.affected ?? 0) > 0;
  }

  private detailed(): SelectQueryBuilder<FlowRunEntity> {
    return this.repo
      .createQueryBuilder('run')
      .leftJoinAndMapOne('run.state', FlowRunStateEntity, 'state', 'state.id = run.state_id')
      .leftJoinAndSelect('run.work_queue', 'work_queue')
      .leftJoinAndSelect('work_queue.work_pool', 'work_pool');
  }
}
