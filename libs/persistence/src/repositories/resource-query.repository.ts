import { EntityManager } from 'typeorm';
import type { DeploymentEntity, FlowEntity, FlowRunEntity } from '../entities';

/**
 * Prefect's cross-resource filter queries (`/flows/filter`, `/deployments/filter`, `/flow_runs/filter` and
 * their `/count`s): a body may combine filters on flows, flow runs, deployments, work pools and queues.
 * The body types live in `@app/contracts` (filters.dto.ts).
 */
export class ResourceQueryRepository {
  constructor(private readonly manager: EntityManager) {}

  flows(_body: unknown): Promise<FlowEntity[]> {
    throw new Error('not implemented yet');
  }

  countFlows(_body: unknown): Promise<number> {
    throw new Error('not implemented yet');
  }

  deployments(_body: unknown): Promise<DeploymentEntity[]> {
    throw new Error('not implemented yet');
  }

  countDeployments(_body: unknown): Promise<number> {
    throw new Error('not implemented yet');
  }

  flowRuns(_body: unknown): Promise<FlowRunEntity[]> {
    throw new Error('not implemented yet');
  }

  countFlowRuns(_body: unknown): Promise<number> {
    throw new Error('not implemented yet');
  }
}
