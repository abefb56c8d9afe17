import { EntityManager } from 'typeorm';
import { FlowRunStateEntity } from '../entities';
import { EntityRepository } from './entity-repository';

export class FlowRunStateRepository extends EntityRepository<FlowRunStateEntity> {
  constructor(manager: EntityManager) {
    super(manager, FlowRunStateEntity);
  }

  /** The type and timestamp of each of a run's states (timestamps are unique per run). */
  marksOf(flowRunId: string): Promise<Pick<FlowRunStateEntity, 'type' | 'timestamp'>[]> {
    return this.repo.find({ select: { type: true, timestamp: true }, where: { flow_run_id: flowRunId } });
  }

  /** A run's states, oldest first. */
  historyOf(flowRunId: string): Promise<FlowRunStateEntity[]> {
    return this.repo.find({ where: { flow_run_id: flowRunId }, order: { timestamp: 'ASC' } });
  }
}
