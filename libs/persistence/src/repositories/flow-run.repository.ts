import type { DeploymentConcurrencySettings, FlowRunEventSubject, FlowRunStateRow, StoredRunState } from '@app/domain';
import { EntityManager, SelectQueryBuilder } from 'typeorm';
import { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { FlowRunEntity, FlowRunStateEntity, StateType } from '../entities';
import { EntityRepository } from './entity-repository';
import { flowRunFromRow } from './flow-run-rows';
import { SharedRecordset, sharedRecordset } from './shared-recordset';

/** What the run belongs to, as its state events name it and as the deployment concurrency rules read it. */
export interface FlowRunSurroundings {
  flow: FlowRunEventSubject['flow'];
  deployment: (NonNullable<FlowRunEventSubject['deployment']> & DeploymentConcurrencySettings) | null;
  workQueue: FlowRunEventSubject['workQueue'];
  workPool: FlowRunEventSubject['workPool'];
}

/** Everything orchestrating one transition of a run reads besides the run: its current state, history, surroundings. */
export interface TransitionContextRow {
  current: StoredRunState | null;
  /** The type and timestamp of each of the run's states (timestamps are unique per run). */
  marks: { type: StateType; timestamp: Date }[];
  surroundings: FlowRunSurroundings;
}

/** A run locked for a transition, with what orchestrating it reads. */
export type LockedForTransition = TransitionContextRow & { run: FlowRunEntity };

/** A run locked for a claim: {@link LockedForTransition} plus the concurrency limits of its queue and pool. */
export type LockedForClaim = LockedForTransition & { limits: { queue: number | null; pool: number | null } };

/**
 * The select list of {@link TransitionContextRow} for the run `fr`, whose current state is joined as `s`. Scalar
 * subqueries rather than joins, so that each is one index probe; plain columns for everything holding an instant, so
 * that pg parses them exactly as it parses an entity's.
 */
const TRANSITION_CONTEXT = `
  s.id AS "s_id", s.type AS "s_type", s.name AS "s_name", s.timestamp AS "s_timestamp", s.message AS "s_message",
  s.data AS "s_data", s.state_details AS "s_state_details",
  (SELECT array_agg(h.type) FROM flow_run_state h WHERE h.flow_run_id = fr.id) AS "mark_types",
  (SELECT array_agg(h.timestamp) FROM flow_run_state h WHERE h.flow_run_id = fr.id) AS "mark_timestamps",
  (SELECT json_build_object('id', f.id, 'name', f.name, 'tags', f.tags) FROM flow f WHERE f.id = fr.flow_id) AS "x_flow",
  (SELECT json_build_object('id', d.id, 'name', d.name, 'tags', d.tags, 'concurrency_limit', d.concurrency_limit,
                            'concurrency_options', d.concurrency_options)
     FROM deployment d WHERE d.id = fr.deployment_id) AS "x_deployment",
  (SELECT json_build_object('id', q.id, 'name', q.name) FROM work_queue q WHERE q.id = fr.work_queue_id) AS "x_work_queue",
  (SELECT json_build_object('id', p.id, 'name', p.name, 'type', p.type)
     FROM work_queue q JOIN work_pool p ON p.id = q.work_pool_id WHERE q.id = fr.work_queue_id) AS "x_work_pool"`;

/** The concurrency limits of the run's queue and pool (see {@link limitsOf}). */
const LIMITS = `(SELECT json_build_object('queue', q.concurrency_limit, 'pool', p.concurrency_limit)
     FROM work_queue q JOIN work_pool p ON p.id = q.work_pool_id WHERE q.id = fr.work_queue_id) AS "x_limits"`;

function limitsOf(extra: Record<string, unknown>): LockedForClaim['limits'] {
  return (extra.x_limits as LockedForClaim['limits'] | null) ?? { queue: null, pool: null };
}

interface TransitionContextColumns {
  s_id: string | null;
  s_type: StateType;
  s_name: string;
  s_timestamp: Date;
  s_message: string | null;
  s_data: unknown;
  s_state_details: StoredRunState['state_details'];
  mark_types: StateType[] | null;
  mark_timestamps: Date[] | null;
  x_flow: FlowRunSurroundings['flow'];
  x_deployment: FlowRunSurroundings['deployment'];
  x_work_queue: FlowRunSurroundings['workQueue'];
  x_work_pool: FlowRunSurroundings['workPool'];
}

function transitionContext(row: TransitionContextColumns): TransitionContextRow {
  const stamps = row.mark_timestamps ?? [];
  return {
    current:
      row.s_id === null
        ? null
        : {
            id: row.s_id,
            type: row.s_type,
            name: row.s_name,
            timestamp: row.s_timestamp,
            message: row.s_message,
            data: row.s_data,
            state_details: row.s_state_details,
          },
    marks: (row.mark_types ?? []).map((type, i) => ({ type, timestamp: stamps[i] })),
    surroundings: {
      flow: row.x_flow,
      deployment: row.x_deployment,
      workQueue: row.x_work_queue,
      workPool: row.x_work_pool,
    },
  };
}

/** One transition's writes: the run's changed columns and, when a state was written, that state. */
export interface TransitionWrite {
  id: string;
  changes: Partial<Omit<FlowRunEntity, 'id'>>;
  state: FlowRunStateRow | null;
}

export class FlowRunRepository extends EntityRepository<FlowRunEntity> {
  constructor(manager: EntityManager) {
    super(manager, FlowRunEntity);
  }

  /**
   * Inserts runs (each with its `id` and first `state_id` given) and their first states, set-based in one statement:
   * one multi-row INSERT for the runs, one for the states of those inserted. A run whose `(flow_id, idempotency_key)`
   * exists already (or comes earlier in `runs`) is skipped with its state. Resolves to the ids inserted. Every run row
   * must carry the same keys (columns left out take their defaults), and so must every state row. What the rows share
   * is sent once (see {@link sharedRecordset}).
   */
  async insertManyWithStates(
    runs: readonly Record<string, unknown>[],
    states: readonly FlowRunStateRow[],
  ): Promise<Set<string>> {
    if (runs.length === 0) return new Set();
    const quoted = (column: string) => `"${column.replace(/"/g, '""')}"`;
    /** The column list, and the select list taking each column from the shared record `c` or its row's `r`. */
    const lists = ({ columns, sharedColumns }: SharedRecordset, r: string, c: string) => ({
      columns: columns.map(quoted).join(', '),
      values: columns.map((column) => `${sharedColumns.has(column) ? c : r}.${quoted(column)}`).join(', '),
    });
    const runRows = sharedRecordset(runs);
    const run = lists(runRows, 'r', 'c');
    const stateRows = states.length > 0 ? sharedRecordset(states) : null;
    const state = stateRows && lists(stateRows, 's', 't');
    const statesInsert =
      stateRows && state
        ? `, states AS (
         INSERT INTO flow_run_state (${state.columns})
         SELECT ${state.values}
           FROM jsonb_populate_recordset(NULL::flow_run_state, $3::jsonb) AS s,
                jsonb_populate_record(NULL::flow_run_state, $4::jsonb) AS t
          WHERE ${stateRows.sharedColumns.has('flow_run_id') ? 't' : 's'}.flow_run_id IN (SELECT id FROM inserted)
       )`
        : '';
    const rows: { id: string }[] = await this.manager.query(
      `WITH inserted AS (
         INSERT INTO flow_run (${run.columns})
         SELECT ${run.values}
           FROM jsonb_populate_recordset(NULL::flow_run, $1::jsonb) WITH ORDINALITY AS r,
                jsonb_populate_record(NULL::flow_run, $2::jsonb) AS c
          ORDER BY r.ordinality
         ON CONFLICT (flow_id, idempotency_key) DO NOTHING
         RETURNING id
       )${statesInsert}
       SELECT id FROM inserted`,
      [runRows.varying, runRows.shared, ...(stateRows ? [stateRows.varying, stateRows.shared] : [])],
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

  /**
   * Locks the run until the transaction ends and reads, in the same statement, what orchestrating a transition of it
   * needs. A proposal that waited for the lock sees the run as the transaction it waited for left it, but the rest of
   * the statement as it was when the statement began: should that transaction have committed a new state meanwhile,
   * the state read is not the run's current one, and everything but the run is read again (rare: two proposals for
   * one run at once, such as two workers claiming it).
   */
  async lockForTransition(id: string): Promise<LockedForTransition | null> {
    const locked = await this.lockWithContext(id, '', '', [id]);
    return locked && { run: locked.run, ...locked.context };
  }

  /**
   * {@link lockForTransition} for a run in a queue of the pool `workPoolId`, spelt as stored (a run elsewhere, or in
   * no queue, is neither locked nor read), with the concurrency limits of its queue and pool, read in the same
   * statement.
   */
  async lockForClaim(id: string, workPoolId: string): Promise<LockedForClaim | null> {
    const locked = await this.lockWithContext(
      id,
      `, ${LIMITS}`,
      // Compared as text, as the id is written: any other spelling (or no uuid at all) names no pool of ours.
      ' AND EXISTS (SELECT 1 FROM work_queue wq WHERE wq.id = fr.work_queue_id AND wq.work_pool_id::text = $2::text)',
      [id, workPoolId],
    );
    return locked && { run: locked.run, ...locked.context, limits: limitsOf(locked.extra) };
  }

  private async lockWithContext(
    id: string,
    extraColumns: string,
    extraCondition: string,
    parameters: unknown[],
  ): Promise<{ run: FlowRunEntity; context: TransitionContextRow; extra: Record<string, unknown> } | null> {
    const rows: Record<string, unknown>[] = await this.manager.query(
      `SELECT fr.*, ${TRANSITION_CONTEXT}${extraColumns}
         FROM flow_run fr LEFT JOIN flow_run_state s ON s.id = fr.state_id
        WHERE fr.id = $1${extraCondition}
          FOR UPDATE OF fr`,
      parameters,
    );
    return rows.length === 0 ? null : this.lockedFromRow(rows[0]);
  }

  /**
   * {@link lockForTransition} for many runs in one statement, locked in id order (as polls lock the runs they lease,
   * so the two never wait on each other in a cycle), each with the concurrency limits of its queue and pool. A run
   * given a pool in `pools` (same index as `ids`; null for none) must be in a queue of that pool, spelt as stored, as
   * in {@link lockForClaim}: a run elsewhere, or in no queue, is neither locked nor read. Unknown ids are absent
   * from the map.
   */
  async lockManyForTransition(
    ids: readonly string[],
    pools: readonly (string | null)[] = ids.map(() => null),
  ): Promise<Map<string, LockedForClaim>> {
    const rows: Record<string, unknown>[] = await this.manager.query(
      `SELECT fr.*, ${TRANSITION_CONTEXT}, ${LIMITS}
         FROM flow_run fr JOIN unnest($1::uuid[], $2::text[]) AS w(id, pool) ON w.id = fr.id
              LEFT JOIN flow_run_state s ON s.id = fr.state_id
        WHERE w.pool IS NULL
           OR EXISTS (SELECT 1 FROM work_queue wq WHERE wq.id = fr.work_queue_id AND wq.work_pool_id::text = w.pool)
        ORDER BY fr.id
          FOR UPDATE OF fr`,
      [ids, pools],
    );
    const locked = new Map<string, LockedForClaim>();
    for (const row of rows) {
      const { run, context, extra } = await this.lockedFromRow(row);
      locked.set(run.id, { run, ...context, limits: limitsOf(extra) });
    }
    return locked;
  }

  /** A row of a lock statement: the run, its transition's context (read again if the state moved), extra columns. */
  private async lockedFromRow(
    row: Record<string, unknown>,
  ): Promise<{ run: FlowRunEntity; context: TransitionContextRow; extra: Record<string, unknown> }> {
    const { s_id, s_type, s_name, s_timestamp, s_message, s_data, s_state_details, ...rest } = row;
    const { mark_types, mark_timestamps, x_flow, x_deployment, x_work_queue, x_work_pool, x_limits, ...columns } = rest;
    const run = flowRunFromRow(columns);
    const extra = { x_limits };
    if (s_id !== run.state_id) return { run, context: await this.transitionContextOf(run), extra };
    const context = transitionContext({
      s_id,
      s_type,
      s_name,
      s_timestamp,
      s_message,
      s_data,
      s_state_details,
      mark_types,
      mark_timestamps,
      x_flow,
      x_deployment,
      x_work_queue,
      x_work_pool,
    } as TransitionContextColumns);
    return { run, context, extra };
  }

  /** What orchestrating a transition of `run` (locked by the caller, or created in this transaction) reads, at once. */
  async transitionContextOf(run: Pick<FlowRunEntity, 'id' | 'state_id'>): Promise<TransitionContextRow> {
    const rows: TransitionContextColumns[] = await this.manager.query(
      `SELECT ${TRANSITION_CONTEXT}
         FROM flow_run fr LEFT JOIN flow_run_state s ON s.id = $2
        WHERE fr.id = $1`,
      [run.id, run.state_id],
    );
    if (rows.length === 0) throw new Error(`flow run ${run.id} vanished from its own transaction`);
    return transitionContext(rows[0]);
  }

  /**
   * A transition's writes in one statement: the new state joins the run's history (when there is one) and the run's
   * columns take `changes` (the new `state_id` among them), `updated` moving as on every update. Resolves to the
   * `updated` written (null when there was nothing to write), so that a caller can answer with the row as written.
   */
  async commitTransition(
    id: string,
    changes: Partial<Omit<FlowRunEntity, 'id'>>,
    state: FlowRunStateRow | null,
  ): Promise<Date | null> {
    const columns = Object.keys(changes).map((key) => `"${key.replace(/"/g, '""')}"`);
    if (columns.length === 0 && !state) return null;
    const stateColumns = state
      ? Object.keys(state)
          .map((key) => `"${key.replace(/"/g, '""')}"`)
          .join(', ')
      : '';
    const insertState = state
      ? `WITH new_state AS (
           INSERT INTO flow_run_state (${stateColumns})
           SELECT ${stateColumns} FROM jsonb_populate_record(NULL::flow_run_state, $3::jsonb)
         ) `
      : '';
    const assignments = [...columns.map((column) => `${column} = c.${column}`), 'updated = CURRENT_TIMESTAMP'];
    const [rows]: [{ updated: Date }[], number] = await this.manager.query(
      `${insertState}UPDATE flow_run fr SET ${assignments.join(', ')}
         FROM jsonb_populate_record(NULL::flow_run, $2::jsonb) AS c
        WHERE fr.id = $1
        RETURNING fr.updated`,
      state ? [id, JSON.stringify(changes), JSON.stringify(state)] : [id, JSON.stringify(changes)],
    );
    return rows[0]?.updated ?? null;
  }

  /**
   * Many transitions' writes in one statement (each as {@link commitTransition} would make it): every new state
   * joins its run's history, and each run takes its own `changes` (columns a run's `changes` lack keep their value),
   * `updated` moving on every run written. Every state row must carry the same keys. Resolves to the `updated`
   * written per run id, so that a caller can answer with the rows as written.
   */
  async commitTransitions(writes: readonly TransitionWrite[]): Promise<Map<string, Date>> {
    const written = writes.filter(({ changes, state }) => state || Object.keys(changes).length > 0);
    if (written.length === 0) return new Map();
    const quote = (key: string) => `"${key.replace(/"/g, '""')}"`;
    const states = written.flatMap(({ state }) => (state ? [state] : []));
    const stateColumns = states.length > 0 ? Object.keys(states[0]).map(quote).join(', ') : '';
    const insertStates =
      states.length > 0
        ? `WITH new_states AS (
             INSERT INTO flow_run_state (${stateColumns})
             SELECT ${stateColumns} FROM jsonb_populate_recordset(NULL::flow_run_state, $2::jsonb)
           ) `
        : '';
    const keys = [...new Set(written.flatMap(({ changes }) => Object.keys(changes)))];
    // Each run's changes are one JSON object: a column it names takes the value given, one it does not keeps its own.
    const assignments = [
      ...keys.map(
        (key) =>
          `${quote(key)} = CASE WHEN w.j ? '${key.replace(/'/g, "''")}' THEN c.${quote(key)} ELSE fr.${quote(key)} END`,
      ),
      'updated = CURRENT_TIMESTAMP',
    ];
    // A change to undefined sets NULL, as in commitTransition (where the key still names the column); JSON would
    // drop the key, and the column would keep its value.
    const runs = written.map(({ id, changes }) => {
      const row: Record<string, unknown> = { $id: id };
      for (const [key, value] of Object.entries(changes)) row[key] = value === undefined ? null : value;
      return row;
    });
    const [rows]: [{ id: string; updated: Date }[], number] = await this.manager.query(
      `${insertStates}UPDATE flow_run fr SET ${assignments.join(', ')}
         FROM jsonb_array_elements($1::jsonb) AS w(j)
              CROSS JOIN LATERAL jsonb_populate_record(NULL::flow_run, w.j) AS c
        WHERE fr.id = (w.j->>'$id')::uuid
        RETURNING fr.id, fr.updated`,
      states.length > 0 ? [JSON.stringify(runs), JSON.stringify(states)] : [JSON.stringify(runs)],
    );
    return new Map(rows.map((row) => [row.id, row.updated]));
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
