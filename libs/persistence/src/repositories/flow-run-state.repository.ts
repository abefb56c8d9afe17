import { EntityManager } from 'typeorm';
import { FlowRunStateEntity } from '../entities';
import { EntityRepository } from './entity-repository';

export class FlowRunStateRepository extends EntityRepository<FlowRunStateEntity> {
  constructor(manager: EntityManager) {
    super(manager, FlowRunStateEntity);
  }
}
