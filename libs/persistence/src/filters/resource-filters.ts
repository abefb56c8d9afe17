import type {
  DeploymentCountRequestDto,
  FlowCountRequestDto,
  FlowRunCountRequestDto,
  TaskRunFilter,
} from '@app/contracts';
import type { EntityManager, SelectQueryBuilder } from 'typeorm';
import { DeploymentEntity, FlowEntity, FlowRunEntity } from '../entities';
import { Criteria, QueryParameters } from './criteria';
import { deploymentFilterSql } from './deployment.filter';
import { flowRunFilterSql } from './flow-run.filter';
import { flowFilterSql } from './flow.filter';
import { taskRunFilterSql } from './task-run.filter';
import { workPoolFilterSql } from './work-pool.filter';
import { workQueueFilterSql } from './work-queue.filter';

/*
 * Prefect's cross-resource composition (`_apply_flow_filters`, `_apply_deployment_filters`,
 * `_apply_flow_run_filters`): the queried resource's own filter applies to its rows; a filter on a related
 * resource becomes an EXISTS over the related rows that match it. Each table has one alias throughout.
 */
export const FLOW = 'flow';
export const DEPLOYMENT = 'deployment';
export const FLOW_RUN = 'flow_run';
const WORK_QUEUE = 'work_queue';
const WORK_POOL = 'work_pool';

const TASK_RUN = 'task_run';

/**
 * Prefect joins task runs for any `task_runs` filter, even `{}`: a flow run matches only through a task run of its
 * own that matches.
 */
const taskRunExists = (taskRuns: TaskRunFilter, params: QueryParameters) =>
  exists(`task_run ${TASK_RUN}`, [
    `${TASK_RUN}.flow_run_id = ${FLOW_RUN}.id`,
    taskRunFilterSql(taskRuns, TASK_RUN, params),
  ]);

const exists = (from: string, conditions: string[]) =>
  `EXISTS (SELECT 1 FROM ${from} WHERE ${conditions.join(' AND ')})`;
const QUEUE_POOL_JOIN = `JOIN ${WORK_POOL} ${WORK_POOL} ON ${WORK_POOL}.id = ${WORK_QUEUE}.work_pool_id`;

function filtered<T extends object>(
  query: SelectQueryBuilder<T>,
  build: (params: QueryParameters) => string,
): SelectQueryBuilder<T> {
  const params = new QueryParameters();
  return query.where(build(params), params.values);
}

export function filteredFlows(manager: EntityManager, body: FlowCountRequestDto): SelectQueryBuilder<FlowEntity> {
  return filtered(manager.getRepository(FlowEntity).createQueryBuilder(FLOW), (params) =>
    new Criteria(params)
      .when(body.flows, (flows) => flowFilterSql(flows, FLOW, params))
      .when(body.deployments ?? body.work_pools, () => {
        const conditions = [`${DEPLOYMENT}.flow_id = ${FLOW}.id`];
        let from = `deployment ${DEPLOYMENT}`;
        if (body.deployments) conditions.push(deploymentFilterSql(body.deployments, DEPLOYMENT, params));
        if (body.work_pools) {
          from += ` JOIN work_queue ${WORK_QUEUE} ON ${WORK_QUEUE}.id = ${DEPLOYMENT}.work_queue_id ${QUEUE_POOL_JOIN}`;
          conditions.push(workPoolFilterSql(body.work_pools, WORK_POOL, params));
        }
        return exists(from, conditions);
      })
      .when(body.flow_runs ?? body.task_runs, () => {
        const conditions = [`${FLOW_RUN}.flow_id = ${FLOW}.id`];
        if (body.flow_runs) conditions.push(flowRunFilterSql(body.flow_runs, FLOW_RUN, params));
        if (body.task_runs) conditions.push(taskRunExists(body.task_runs, params));
        return exists(`flow_run ${FLOW_RUN}`, conditions);
      })
      .sql(),
  );
}

export function filteredDeployments(
  manager: EntityManager,
  body: DeploymentCountRequestDto,
): SelectQueryBuilder<DeploymentEntity> {
  return filtered(manager.getRepository(DeploymentEntity).createQueryBuilder(DEPLOYMENT), (params) =>
    new Criteria(params)
      .when(body.deployments, (deployments) => deploymentFilterSql(deployments, DEPLOYMENT, params))
      .when(body.flows, (flows) =>
        exists(`flow ${FLOW}`, [`${FLOW}.id = ${DEPLOYMENT}.flow_id`, flowFilterSql(flows, FLOW, params)]),
      )
      .when(body.flow_runs ?? body.task_runs, () => {
        const conditions = [`${FLOW_RUN}.deployment_id = ${DEPLOYMENT}.id`];
        if (body.flow_runs) conditions.push(flowRunFilterSql(body.flow_runs, FLOW_RUN, params));
        if (body.task_runs) conditions.push(taskRunExists(body.task_runs, params));
        return exists(`flow_run ${FLOW_RUN}`, conditions);
      })
      .when(body.work_pools ?? body.work_pool_queues, () => {
        const conditions = [`${WORK_QUEUE}.id = ${DEPLOYMENT}.work_queue_id`];
        let from = `work_queue ${WORK_QUEUE}`;
        if (body.work_pool_queues) conditions.push(workQueueFilterSql(body.work_pool_queues, WORK_QUEUE, params));
        if (body.work_pools) {
          from += ` ${QUEUE_POOL_JOIN}`;
          conditions.push(workPoolFilterSql(body.work_pools, WORK_POOL, params));
        }
        return exists(from, conditions);
      })
      .sql(),
  );
}

export function filteredFlowRuns(
  manager: EntityManager,
  body: FlowRunCountRequestDto,
): SelectQueryBuilder<FlowRunEntity> {
  return filtered(manager.getRepository(FlowRunEntity).createQueryBuilder(FLOW_RUN), (params) =>
    new Criteria(params)
      .when(body.flow_runs, (runs) => flowRunFilterSql(runs, FLOW_RUN, params))
      .when(body.deployments, (deployments) =>
        exists(`deployment ${DEPLOYMENT}`, [
          `${DEPLOYMENT}.id = ${FLOW_RUN}.deployment_id`,
          deploymentFilterSql(deployments, DEPLOYMENT, params),
        ]),
      )
      .when(body.work_pools, (pools) =>
        exists(`work_queue ${WORK_QUEUE} ${QUEUE_POOL_JOIN}`, [
          `${WORK_QUEUE}.id = ${FLOW_RUN}.work_queue_id`,
          workPoolFilterSql(pools, WORK_POOL, params),
        ]),
      )
      .when(body.work_pool_queues, (queues) =>
        exists(`work_queue ${WORK_QUEUE}`, [
          `${WORK_QUEUE}.id = ${FLOW_RUN}.work_queue_id`,
          workQueueFilterSql(queues, WORK_QUEUE, params),
        ]),
      )
      .when(body.flows ?? body.task_runs, () => {
        const conditions = [`${FLOW}.id = ${FLOW_RUN}.flow_id`];
        if (body.flows) conditions.push(flowFilterSql(body.flows, FLOW, params));
        if (body.task_runs) conditions.push(taskRunExists(body.task_runs, params));
        return exists(`flow ${FLOW}`, conditions);
      })
      .sql(),
  );
}
