import { EntityManager } from 'typeorm';
import { DeploymentScheduleEntity } from '../entities';
import { EntityRepository } from './entity-repository';

export class DeploymentScheduleRepository extends EntityRepository<DeploymentScheduleEntity> {
  constructor(manager: EntityManager) {
    super(manager, DeploymentScheduleEntity);
  }
}
