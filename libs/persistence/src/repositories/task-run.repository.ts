import type { TaskRunFilterRequestDto } from '@app/contracts';
import { EntityManager, IsNull } from 'typeorm';
import { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { TaskRunEntity, TaskRunStateEntity } from '../entities';
import { QueryParameters } from '../filters/criteria';
import { flowRunFilterSql } from '../filters/flow-run.filter';
import { applyOrder } from '../filters/order';
import { taskRunFilterSql, taskRunOrder } from '../filters/task-run.filter';
import { EntityRepository } from './entity-repository';

const TASK_RUN = 'task_run';

export class TaskRunRepository extends EntityRepository<TaskRunEntity> {
  constructor(manager: EntityManager) {
    super(manager, TaskRunEntity);
  }

  /** The task run a flow run already has for this task call (Prefect's idempotency key). */
  findByKey(flowRunId: string | null, taskKey: string, dynamicKey: string): Promise<TaskRunEntity | null> {
    return this.repo.findOneBy({ flow_run_id: flowRunId ?? IsNull(), task_key: taskKey, dynamic_key: dynamicKey });
  }

  patch(id: string, values: Partial<Omit<TaskRunEntity, 'id'>>): Promise<boolean> {
    return this.updateById(id, values as QueryDeepPartialEntity<TaskRunEntity>);
  }

  /** Task runs matching the task-run filter and, through their flow run, the flow-run filter. */
  filter(body: TaskRunFilterRequestDto, limit: number): Promise<TaskRunEntity[]> {
    const params = new QueryParameters();
    const conditions = [body.task_runs ? taskRunFilterSql(body.task_runs, TASK_RUN, params) : 'TRUE'];
    if (body.flow_runs) {
      conditions.push(
        `EXISTS (SELECT 1 FROM flow_run flow_run WHERE flow_run.id = ${TASK_RUN}.flow_run_id AND ${flowRunFilterSql(body.flow_runs, 'flow_run', params)})`,
      );
    }
    const query = this.repo.createQueryBuilder(TASK_RUN).where(conditions.join(' AND '), params.values);
    return applyOrder(query, taskRunOrder(body.sort, TASK_RUN)).offset(body.offset).limit(limit).getMany();
  }
}

export class TaskRunStateRepository extends EntityRepository<TaskRunStateEntity> {
  constructor(manager: EntityManager) {
    super(manager, TaskRunStateEntity);
  }

  /** The timestamps a task run's states already hold (they are unique per run). */
  async timestampsOf(taskRunId: string): Promise<Date[]> {
    const rows = await this.repo.find({ select: { timestamp: true }, where: { task_run_id: taskRunId } });
    return rows.map((row) => row.timestamp);
  }

  /** A task run's states, oldest first. */
  historyOf(taskRunId: string): Promise<TaskRunStateEntity[]> {
    return this.repo.find({ where: { task_run_id: taskRunId }, order: { timestamp: 'ASC' } });
  }

  /** The current states of these task runs, by id. */
  async findByIds(ids: string[]): Promise<Map<string, TaskRunStateEntity>> {
    if (ids.length === 0) return new Map();
    const rows = await this.repo.createQueryBuilder('state').where('state.id = ANY(:ids)', { ids }).getMany();
    return new Map(rows.map((row) => [row.id, row]));
  }
}
