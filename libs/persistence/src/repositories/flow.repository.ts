import { EntityManager } from 'typeorm';
import { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { FlowEntity } from '../entities';
import { EntityRepository } from './entity-repository';

export class FlowRepository extends EntityRepository<FlowEntity> {
  constructor(manager: EntityManager) {
    super(manager, FlowEntity);
  }

  findByName(name: string): Promise<FlowEntity | null> {
    return this.repo.findOneBy({ name });
  }

  /** Inserts unless a flow of that name exists; resolves to the new row, or null when it existed. */
  async insertIfAbsent(values: Pick<FlowEntity, 'name' | 'tags' | 'labels'>): Promise<FlowEntity | null> {
    const result = await this.repo
      .createQueryBuilder()
      .insert()
      .values(values as QueryDeepPartialEntity<FlowEntity>)
      .orIgnore()
      .returning('*')
      .execute();
    const row = (result.raw as FlowEntity[])[0];
    return row ? this.repo.create(row) : null;
  }
}
