import type { FlowRunStateRow } from '@app/domain';
import { EntityManager, SelectQueryBuilder } from 'typeorm';
import { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { FlowRunEntity, FlowRunStateEntity } from '../entities';
import { EntityRepository } from './entity-repository';

export class FlowRunRepository extends EntityRepository<FlowRunEntity> {
  constructor(manager: EntityManager) {
    super(manager, FlowRunEntity);
  }

  /**
   * Inserts runs (each with its `id` and first `state_id` given) and their first states, set-based in one statement:
   * one multi-row INSERT for the runs, one for the states of those inserted. A run whose `(flow_id, idempotency_key)`
   * exists already (or comes earlier in `runs`) is skipped with its state. Resolves to the ids inserted. Every run row
   * must carry the same keys (columns left out take their defaults), and so must every state row.
   */
  async insertManyWithStates(
    runs: readonly Record<string, unknown>[],
    states: readonly FlowRunStateRow[],
  ): Promise<Set<string>> {
    if (runs.length === 0) return new Set();
    const columnsOf = (rows: readonly object[]) =>
      Object.keys(rows[0])
        .map((key) => `"${key.replace(/"/g, '""')}"`)
        .join(', ');
    const runColumns = columnsOf(runs);
    const stateColumns = columnsOf(states);
    const rows: { id: string }[] = await this.manager.query(
      `WITH inserted AS (
         INSERT INTO flow_run (${runColumns})
         SELECT ${runColumns} FROM jsonb_populate_recordset(NULL::flow_run, $1::jsonb) WITH ORDINALITY AS r
          ORDER BY r.ordinality
         ON CONFLICT (flow_id, idempotency_key) DO NOTHING
         RETURNING id
       ), states AS (
         INSERT INTO flow_run_state (${stateColumns})
         SELECT ${stateColumns} FROM jsonb_populate_recordset(NULL::flow_run_state, $2::jsonb) AS s
          WHERE s.flow_run_id IN (SELECT id FROM inserted)
       )
       SELECT id FROM inserted`,
      [JSON.stringify(runs), JSON.stringify(states)],
    );
    return new Set(rows.map((row) => row.id));
  }

  /**
   * The ids of the queue's SCHEDULED runs due by `before` (any time when null), earliest first, at most `limit`:
   * what Prefect's queue view lists, leased or not.
   */
  async scheduledInQueue(workQueueId: string, before: Date | null, limit: number): Promise<string[]> {
    const rows: { id: string }[] = await this.manager.query(
      `SELECT id FROM flow_run
        WHERE work_queue_id = $1 AND state_type = 'SCHEDULED' AND ($2::timestamptz IS NULL OR next_scheduled_start_time <= $2)
        ORDER BY next_scheduled_start_time, id LIMIT $3`,
      [workQueueId, before, limit],
    );
    return rows.map((row) => row.id);
  }

  /** Per idempotency key of this flow, the id of the run holding it (those of `keys` that exist). */
  async idsByIdempotencyKeys(flowId: string, keys: readonly string[]): Promise<Map<string, string>> {
    if (keys.length === 0) return new Map();
    const rows: { id: string; idempotency_key: string }[] = await this.manager.query(
      `SELECT id, idempotency_key FROM flow_run WHERE flow_id = $1 AND idempotency_key = ANY($2)`,
      [flowId, keys],
    );
    return new Map(rows.map((row) => [row.idempotency_key, row.id]));
  }

  /** A run with its current state, its work queue and that queue's pool (what a `FlowRunResponse` shows). */
  findDetailedById(id: string): Promise<FlowRunEntity | null> {
    return this.detailed().where('run.id = :id', { id }).getOne();
  }

  /** Runs with their state, queue and pool, in the order of `ids`; unknown ids are skipped. */
  async findDetailedByIds(ids: string[]): Promise<FlowRunEntity[]> {
    if (ids.length === 0) return [];
    const runs = await this.detailed().where('run.id IN (:...ids)', { ids }).getMany();
    const byId = new Map(runs.map((run) => [run.id, run]));
    return ids.flatMap((id) => byId.get(id) ?? []);
  }

  /** `updateById` for plain field values (TypeORM's partial type refuses JSON columns typed as records). */
  patch(id: string, values: Partial<Omit<FlowRunEntity, 'id'>>): Promise<boolean> {
    return this.updateById(id, values as QueryDeepPartialEntity<FlowRunEntity>);
  }

  findByIdempotencyKey(flowId: string, idempotencyKey: string): Promise<FlowRunEntity | null> {
    return this.repo.findOneBy({ flow_id: flowId, idempotency_key: idempotencyKey });
  }

  /** Shallow-merges `labels` into the run's labels in one statement; resolves to whether the run exists. */
  async mergeLabels(id: string, labels: Record<string, unknown>): Promise<boolean> {
    const result = await this.repo
      .createQueryBuilder()
      .update()
      .set({ labels: () => `COALESCE(labels, '{}'::jsonb) || CAST(:labels AS jsonb)` })
      .where('id = :id', { id, labels: JSON.stringify(labels) })
      .execute();
    return (result.affected ?? 0) > 0;
  }

  private detailed(): SelectQueryBuilder<FlowRunEntity> {
    return this.repo
      .createQueryBuilder('run')
      .leftJoinAndMapOne('run.state', FlowRunStateEntity, 'state', 'state.id = run.state_id')
      .leftJoinAndSelect('run.work_queue', 'work_queue')
      .leftJoinAndSelect('work_queue.work_pool', 'work_pool');
  }
}
