import { EntityManager } from 'typeorm';
import { WorkQueueEntity } from '../entities';
import { EntityRepository } from './entity-repository';

export class WorkQueueRepository extends EntityRepository<WorkQueueEntity> {
  constructor(manager: EntityManager) {
    super(manager, WorkQueueEntity);
  }
}
