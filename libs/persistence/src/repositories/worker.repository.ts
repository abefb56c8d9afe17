import { EntityManager } from 'typeorm';
import { WorkerEntity } from '../entities';
import { EntityRepository } from './entity-repository';

export class WorkerRepository extends EntityRepository<WorkerEntity> {
  constructor(manager: EntityManager) {
    super(manager, WorkerEntity);
  }
}
