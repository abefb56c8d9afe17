import { EntityManager } from 'typeorm';
import { FlowRunStateEntity } from '../entities';
import { EntityRepository } from './entity-repository';

export class FlowRunStateRepository extends EntityRepository<FlowRunStateEntity> {
  constructor(manager: EntityManager) {
    super(manager, FlowRunStateEntity);
  }

  /** A run's states, oldest first. */
  historyOf(flowRunId: string): Promise<FlowRunStateEntity[]> {
    return this.repo.find({ where: { flow_run_id: flowRunId }, order: { timestamp: 'ASC' } });
  }
}
