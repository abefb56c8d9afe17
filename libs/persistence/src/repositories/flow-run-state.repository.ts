import { EntityManager } from 'typeorm';
import { FlowRunStateEntity } from '../entities';
import { EntityRepository } from './entity-repository';

export class FlowRunStateRepository extends EntityRepository<FlowRunStateEntity> {
  constructor(manager: EntityManager) {
    super(manager, FlowRunStateEntity);
  }

  /** The timestamps a run's states already hold (they are unique per run). */
  async timestampsOf(flowRunId: string): Promise<Date[]> {
    const rows = await this.repo.find({ select: { timestamp: true }, where: { flow_run_id: flowRunId } });
    return rows.map((row) => row.timestamp);
  }

  /** A run's states, oldest first. */
  historyOf(flowRunId: string): Promise<FlowRunStateEntity[]> {
    return this.repo.find({ where: { flow_run_id: flowRunId }, order: { timestamp: 'ASC' } });
  }
}
