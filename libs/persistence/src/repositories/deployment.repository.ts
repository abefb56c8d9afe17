import { EntityManager } from 'typeorm';
import { DeploymentEntity } from '../entities';
import { EntityRepository } from './entity-repository';

export class DeploymentRepository extends EntityRepository<DeploymentEntity> {
  constructor(manager: EntityManager) {
    super(manager, DeploymentEntity);
  }
}
