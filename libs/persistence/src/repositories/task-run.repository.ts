import type { TaskRunFilterRequestDto } from '@app/contracts';
import type { TaskRunEventColumns, TaskRunStateEventRow, TaskRunVersion } from '@app/domain';
import { EntityManager, IsNull } from 'typeorm';
import { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { TaskRunEntity, TaskRunStateEntity } from '../entities';
import { QueryParameters } from '../filters/criteria';
import { deploymentFilterSql } from '../filters/deployment.filter';
import { flowRunFilterSql } from '../filters/flow-run.filter';
import { flowFilterSql } from '../filters/flow.filter';
import { applyOrder } from '../filters/order';
import { taskRunFilterSql, taskRunOrder } from '../filters/task-run.filter';
import { EntityRepository } from './entity-repository';

const TASK_RUN = 'task_run';

/** An instant read back as `YYYY-MM-DDTHH:MM:SS.ffffffZ`, microseconds kept (a `Date` would drop them). */
const preciseText = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

const JSON_COLUMNS: ReadonlySet<string> = new Set([
  'empirical_policy',
  'tags',
  'labels',
  'task_inputs',
  'data',
  'state_details',
]);

/** Column names and `$n` placeholders for a row; jsonb values are sent as JSON text (arrays would become PG arrays). */
function placeholders(row: object, first = 1): { columns: string[]; slots: string[]; values: unknown[] } {
  const entries = Object.entries(row as Record<string, unknown>).filter(([, value]) => value !== undefined);
  return {
    columns: entries.map(([column]) => `"${column}"`),
    slots: entries.map(([column], index) =>
      JSON_COLUMNS.has(column) ? `$${first + index}::jsonb` : `$${first + index}`,
    ),
    values: entries.map(([column, value]) =>
      JSON_COLUMNS.has(column) && value !== null ? JSON.stringify(value) : value,
    ),
  };
}

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

  /**
   * Locks and returns the task runs an event for `id` could be about: the one with that id, and the one holding
   * the same (flow run, task key, dynamic key) — the same row, two rows, or none.
   */
  async lockVersions(
    id: string,
    flowRunId: string | null,
    taskKey: string,
    dynamicKey: string,
  ): Promise<TaskRunVersion[]> {
    return this.manager.query(
      `SELECT id, flow_run_id, task_key, dynamic_key, ${preciseText('state_timestamp')} AS state_timestamp
         FROM task_run
        WHERE id = $1 OR (flow_run_id = $2 AND task_key = $3 AND dynamic_key = $4)
        ORDER BY id
          FOR UPDATE`,
      [id, flowRunId, taskKey, dynamicKey],
    );
  }

  /** Inserts the task run unless its id or key exists already; resolves to whether it was inserted. */
  async insertFromEvent(row: TaskRunEventColumns & { name: string }): Promise<boolean> {
    const { columns, slots, values } = placeholders(row);
    const inserted: unknown[] = await this.manager.query(
      `INSERT INTO task_run (${columns.join(', ')}) VALUES (${slots.join(', ')}) ON CONFLICT DO NOTHING RETURNING id`,
      values,
    );
    return inserted.length > 0;
  }

  /** Overwrites the given columns of task run `id`. */
  async updateFromEvent(id: string, row: TaskRunEventColumns): Promise<void> {
    const { columns, slots, values } = placeholders({ ...row, id: undefined }, 2);
    const assignments = columns.map((column, index) => `${column} = ${slots[index]}`);
    await this.manager.query(`UPDATE task_run SET ${assignments.join(', ')}, updated = now() WHERE id = $1`, [
      id,
      ...values,
    ]);
  }

  /**
   * Task runs matching the task-run filter and, as Prefect's `_apply_task_run_filters`, an EXISTS over their flow
   * run joined to its flow and deployment for the flow-run, flow and deployment filters. Any of those filters, even
   * `{}`, leaves out task runs without a flow run; a deployment filter also those whose flow run has no deployment.
   */
  filter(body: TaskRunFilterRequestDto, limit: number): Promise<TaskRunEntity[]> {
    const params = new QueryParameters();
    const conditions = [body.task_runs ? taskRunFilterSql(body.task_runs, TASK_RUN, params) : 'TRUE'];
    if (body.flow_runs || body.flows || body.deployments) {
      let from = 'flow_run flow_run';
      const related = [`flow_run.id = ${TASK_RUN}.flow_run_id`];
      if (body.flow_runs) related.push(flowRunFilterSql(body.flow_runs, 'flow_run', params));
      if (body.flows) {
        from += ' JOIN flow flow ON flow.id = flow_run.flow_id';
        related.push(flowFilterSql(body.flows, 'flow', params));
      }
      if (body.deployments) {
        from += ' JOIN deployment deployment ON deployment.id = flow_run.deployment_id';
        related.push(deploymentFilterSql(body.deployments, 'deployment', params));
      }
      conditions.push(`EXISTS (SELECT 1 FROM ${from} WHERE ${related.join(' AND ')})`);
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

  /** Records a state a client reported, unless a state with its id (or its run and timestamp) is there already. */
  async insertFromEventIfAbsent(row: TaskRunStateEventRow): Promise<void> {
    const { columns, slots, values } = placeholders(row);
    await this.manager.query(
      `INSERT INTO task_run_state (${columns.join(', ')}) VALUES (${slots.join(', ')}) ON CONFLICT DO NOTHING`,
      values,
    );
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
