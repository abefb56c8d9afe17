import { EntityManager } from 'typeorm';
import { FlowEntity } from '../entities';
import { EntityRepository } from './entity-repository';

export class FlowRepository extends EntityRepository<FlowEntity> {
  constructor(manager: EntityManager) {
    super(manager, FlowEntity);
  }

  findByName(name: string): Promise<FlowEntity | null> {
    return this.repo.findOneBy({ name });
  }
}
