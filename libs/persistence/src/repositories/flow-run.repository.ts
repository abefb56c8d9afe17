import { EntityManager } from 'typeorm';
import { FlowRunEntity } from '../entities';
import { EntityRepository } from './entity-repository';

export class FlowRunRepository extends EntityRepository<FlowRunEntity> {
  constructor(manager: EntityManager) {
    super(manager, FlowRunEntity);
  }
}
