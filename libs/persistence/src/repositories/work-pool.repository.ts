import { EntityManager } from 'typeorm';
import { WorkPoolEntity } from '../entities';
import { EntityRepository } from './entity-repository';

export class WorkPoolRepository extends EntityRepository<WorkPoolEntity> {
  constructor(manager: EntityManager) {
    super(manager, WorkPoolEntity);
  }
}
