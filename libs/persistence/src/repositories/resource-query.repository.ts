import type {
  DeploymentCountRequestDto,
  DeploymentFilterRequestDto,
  FlowCountRequestDto,
  FlowFilterRequestDto,
  FlowRunCountRequestDto,
  FlowRunFilterRequestDto,
} from '@app/contracts';
import { EntityManager } from 'typeorm';
import type { DeploymentEntity, FlowEntity, FlowRunEntity } from '../entities';
import { deploymentOrder } from '../filters/deployment.filter';
import { flowRunOrder } from '../filters/flow-run.filter';
import { flowOrder } from '../filters/flow.filter';
import { applyOrder } from '../filters/order';
import {
  DEPLOYMENT,
  FLOW,
  FLOW_RUN,
  filteredDeployments,
  filteredFlowRuns,
  filteredFlows,
} from '../filters/resource-filters';

/**
 * Prefect's cross-resource filter queries (`/flows/filter`, `/deployments/filter`, `/flow_runs/filter` and
 * their `/count`s): a body may combine filters on flows, flow runs, task runs, deployments, work pools and queues.
 * `limit` is the page size already resolved by the caller (`resolveLimit` with the configured default).
 */
export class ResourceQueryRepository {
  constructor(private readonly manager: EntityManager) {}

  flows(body: FlowFilterRequestDto, limit: number): Promise<FlowEntity[]> {
    return applyOrder(filteredFlows(this.manager, body), flowOrder(body.sort, FLOW))
      .offset(body.offset)
      .limit(limit)
      .getMany();
  }

  countFlows(body: FlowCountRequestDto): Promise<number> {
    return filteredFlows(this.manager, body).getCount();
  }

  deployments(body: DeploymentFilterRequestDto, limit: number): Promise<DeploymentEntity[]> {
    return applyOrder(filteredDeployments(this.manager, body), deploymentOrder(body.sort, DEPLOYMENT))
      .offset(body.offset)
      .limit(limit)
      .getMany();
  }

  countDeployments(body: DeploymentCountRequestDto): Promise<number> {
    return filteredDeployments(this.manager, body).getCount();
  }

  /** Bare flow run rows: the caller loads whatever else its presenter needs (current state, the queue's pool). */
  flowRuns(body: FlowRunFilterRequestDto, limit: number): Promise<FlowRunEntity[]> {
    return applyOrder(filteredFlowRuns(this.manager, body), flowRunOrder(body.sort, FLOW_RUN))
      .offset(body.offset)
      .limit(limit)
      .getMany();
  }

  countFlowRuns(body: FlowRunCountRequestDto): Promise<number> {
    return filteredFlowRuns(this.manager, body).getCount();
  }
}
