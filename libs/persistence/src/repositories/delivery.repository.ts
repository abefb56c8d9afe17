import { SLOT_OCCUPYING_STATE_TYPES, type RunPublication, type TimeWindow } from '@app/domain';
import { EntityManager } from 'typeorm';
import { FlowRunEntity, undispatched, WorkPoolEntity, WorkQueueEntity } from '../entities';
import { flowRunFromRow, flowRunStateFromJson } from './flow-run-rows';

/** A run to put on the bus, with what its subject and message id need. */
export interface DispatchCandidate {
  run: FlowRunEntity & { work_queue_id: string; state_id: string };
  work_pool_id: string;
}

/** A publication JetStream stored: on which queue's subject, under which stream sequence. */
export interface StoredPublication {
  publication: RunPublication;
  work_queue_id: string;
  seq: number;
}

/** A run recorded as waiting on the bus: which publication, and where JetStream said it stored it. */
export interface PublishedRun {
  id: string;
  epoch: number;
  seq: number | null;
}

/** How many of a queue's runs are recorded as waiting on the bus. */
export interface PublishedQueue {
  work_pool_id: string;
  work_queue_id: string;
  published: number;
}

/**
 * What a lease returns: the run's columns and its current state as one JSON value, so that a poll hands out the
 * state in the statement that leases the run (a primary-key lookup per leased row, no further round trip).
 */
const LEASED_RUN_WITH_STATE = `fr.*, (SELECT to_jsonb(s) FROM flow_run_state s WHERE s.id = fr.state_id) AS current_state`;

/** A queue's runs past their start time and still SCHEDULED, as the backlog gauges show them. */
export interface QueueBacklog {
  pool_name: string;
  queue_name: string;
  work_queue_id: string;
  late: number;
  oldest_start: Date;
}

const NOT_IN_PROCESS_RETRY = `coalesce(fr.empirical_policy->>'retry_type', '') <> 'in_process'`;
const QUEUE_AND_POOL_ACTIVE = `NOT wq.is_paused AND NOT wp.is_paused`;
/** Whether the queue whose id is `param` and its pool are unpaused (null for a queue that does not exist). */
/**
 * Runs (alias `fr`) whose current publication should be waiting on the bus: published in their state and queue,
 * not handed to a poller (a run whose lease ran out is the dispatcher's), deliverable. The first line is the
 * predicate of `ix_flow_run__published_unleased`.
 */
const PUBLISHED_UNLEASED =
  `fr.state_type = 'SCHEDULED' AND fr.dispatched_state_id IS NOT NULL AND fr.leased_until IS NULL ` +
  `AND fr.dispatched_state_id = fr.state_id AND fr.dispatched_queue_id = fr.work_queue_id AND ${NOT_IN_PROCESS_RETRY}`;
const queueActive = (param: string) =>
  `SELECT ${QUEUE_AND_POOL_ACTIVE} FROM work_queue wq JOIN work_pool wp ON wp.id = wq.work_pool_id WHERE wq.id = ${param}`;

/** The fields of a pool a poll reads. */
export type PollPool = Pick<WorkPoolEntity, 'id' | 'name' | 'type' | 'is_paused' | 'concurrency_limit'>;
/** The fields of a queue a poll reads. */
export type PollQueue = Pick<WorkQueueEntity, 'id' | 'name' | 'priority' | 'is_paused' | 'concurrency_limit'>;

/** A polled pool and all its queues, in priority order. */
export interface PollTarget {
  pool: PollPool;
  queues: PollQueue[];
}

/**
 * The delivery pipeline's queries: what the dispatcher publishes (candidates locked `FOR UPDATE SKIP LOCKED`
 * so scheduler replicas split the work, held until the publication is recorded), and what a poll leases.
 */
export class DeliveryRepository {
  constructor(private readonly manager: EntityManager) {}

  /** SCHEDULED runs due by `horizonEnd` that are not on the bus in their current state and queue. */
  lockUndispatched(horizonEnd: Date, now: Date, limit: number): Promise<DispatchCandidate[]> {
    return this.lockCandidates(
      `${undispatched('fr.')} AND fr.next_scheduled_start_time <= $1 AND (fr.leased_until IS NULL OR fr.leased_until < $2)`,
      [horizonEnd, now, limit],
      'fr.next_scheduled_start_time',
    );
  }

  /**
   * SCHEDULED runs a poller was handed but never claimed: their message is gone, so they go out again — if due
   * within the horizon; later ones are found by the polls that reach past it.
   */
  lockExpiredLeases(horizonEnd: Date, now: Date, limit: number): Promise<DispatchCandidate[]> {
    return this.lockCandidates(
      `fr.leased_until < $2 AND fr.state_type = 'SCHEDULED' AND fr.next_scheduled_start_time <= $1`,
      [horizonEnd, now, limit],
      'fr.leased_until',
    );
  }

  /**
   * Of these publications, the ones still current and waiting (same epoch, still SCHEDULED in the queue they were
   * published to, unleased), locked: a poll racing a re-publication either holds the row first (and leases the run)
   * or waits and finds its message stale.
   */
  lockRepublishable(runs: PublishedRun[], limit: number): Promise<DispatchCandidate[]> {
    return this.lockCandidates(
      `(fr.id, fr.dispatch_epoch) IN (SELECT * FROM unnest($1::uuid[], $2::int[])) AND ${PUBLISHED_UNLEASED}`,
      [runs.map((run) => run.id), runs.map((run) => run.epoch), limit],
      'fr.id',
    );
  }

  /**
   * Per queue, the runs past their start time and still SCHEDULED, and the oldest start among them: one grouped
   * scan of the SCHEDULED index up to `now`, whatever the number of pools.
   */
  async backlogPerQueue(now: Date): Promise<QueueBacklog[]> {
    const rows: (Omit<QueueBacklog, 'oldest_start'> & { oldest_start: Date | string })[] = await this.manager.query(
      `SELECT wp.name AS pool_name, wq.name AS queue_name, b.work_queue_id, b.late, b.oldest_start
         FROM (SELECT fr.work_queue_id, count(*)::int AS late, min(fr.next_scheduled_start_time) AS oldest_start
                 FROM flow_run fr
                WHERE fr.state_type = 'SCHEDULED' AND fr.next_scheduled_start_time <= $1
                  AND fr.work_queue_id IS NOT NULL
                GROUP BY fr.work_queue_id) b
         JOIN work_queue wq ON wq.id = b.work_queue_id
         JOIN work_pool wp ON wp.id = wq.work_pool_id`,
      [now],
    );
    return rows.map((row) => ({ ...row, oldest_start: new Date(row.oldest_start) }));
  }

  /** Runs handed to a poller whose lease still runs and that nobody has claimed yet. */
  async outstandingLeases(now: Date): Promise<number> {
    const [row]: { count: number }[] = await this.manager.query(
      `SELECT count(*)::int AS count FROM flow_run fr WHERE fr.leased_until IS NOT NULL AND fr.leased_until >= $1
          AND fr.state_type = 'SCHEDULED'`,
      [now],
    );
    return row.count;
  }

  /** Per active queue, how many runs are recorded as waiting on the bus (reads only the published, unleased runs). */
  publishedPerQueue(): Promise<PublishedQueue[]> {
    return this.manager.query(
      `SELECT wq.work_pool_id, p.work_queue_id, p.published
         FROM (SELECT fr.work_queue_id, count(*)::int AS published FROM flow_run fr
                WHERE ${PUBLISHED_UNLEASED} GROUP BY fr.work_queue_id) p
         JOIN work_queue wq ON wq.id = p.work_queue_id
         JOIN work_pool wp ON wp.id = wq.work_pool_id
        WHERE ${QUEUE_AND_POOL_ACTIVE}`,
    );
  }

  /** A page, in id order after `afterId`, of the queue's runs recorded as waiting on the bus. */
  async publishedOfQueue(workQueueId: string, afterId: string | null, limit: number): Promise<PublishedRun[]> {
    const rows: { id: string; dispatch_epoch: number; dispatch_seq: string | null }[] = await this.manager.query(
      `SELECT fr.id, fr.dispatch_epoch, fr.dispatch_seq FROM flow_run fr
        WHERE fr.work_queue_id = $1 AND ${PUBLISHED_UNLEASED} AND ($2::uuid IS NULL OR fr.id > $2)
        ORDER BY fr.id LIMIT $3`,
      [workQueueId, afterId, limit],
    );
    return rows.map((row) => ({
      id: row.id,
      epoch: row.dispatch_epoch,
      seq: row.dispatch_seq === null ? null : Number(row.dispatch_seq),
    }));
  }

  private async lockCandidates(condition: string, params: unknown[], order: string): Promise<DispatchCandidate[]> {
    const limitParam = `$${params.length}`;
    const rows: (Record<string, unknown> & { work_pool_id: string })[] = await this.manager.query(
      `SELECT fr.*, wq.work_pool_id AS work_pool_id
         FROM flow_run fr
         JOIN work_queue wq ON wq.id = fr.work_queue_id
         JOIN work_pool wp ON wp.id = wq.work_pool_id
        WHERE ${condition} AND ${QUEUE_AND_POOL_ACTIVE} AND ${NOT_IN_PROCESS_RETRY}
        ORDER BY ${order}
        LIMIT ${limitParam}
        FOR UPDATE OF fr SKIP LOCKED`,
      params,
    );
    return rows.map(({ work_pool_id, ...row }) => ({
      run: flowRunFromRow(row) as DispatchCandidate['run'],
      work_pool_id,
    }));
  }

  /** Records what was published; a run published again (lease expiry) loses its old lease. */
  async markDispatched(records: StoredPublication[]): Promise<void> {
    if (records.length === 0) return;
    await this.manager.query(
      `UPDATE flow_run fr
          SET dispatched_state_id = m.state_id, dispatched_queue_id = m.work_queue_id,
              dispatch_epoch = m.epoch, dispatch_seq = m.seq, leased_until = NULL
         FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::int[], $5::bigint[]) AS m(id, state_id, work_queue_id, epoch, seq)
        WHERE fr.id = m.id`,
      [
        records.map((r) => r.publication.runId),
        records.map((r) => r.publication.stateId),
        records.map((r) => r.work_queue_id),
        records.map((r) => r.publication.epoch),
        records.map((r) => r.seq),
      ],
    );
  }

  /** Earliest start time among undispatched runs not yet within the horizon: when the next dispatch is due. */
  async nextUndispatchedAfter(horizonEnd: Date): Promise<Date | null> {
    const rows: { next_scheduled_start_time: Date }[] = await this.manager.query(
      `SELECT next_scheduled_start_time FROM flow_run
        WHERE ${undispatched()} AND next_scheduled_start_time > $1
        ORDER BY next_scheduled_start_time LIMIT 1`,
      [horizonEnd],
    );
    return rows[0]?.next_scheduled_start_time ?? null;
  }

  /** The earliest lease still running: when the next expired-lease dispatch is due. */
  async nextLeaseExpiry(now: Date): Promise<Date | null> {
    const rows: { leased_until: Date }[] = await this.manager.query(
      `SELECT leased_until FROM flow_run WHERE leased_until IS NOT NULL AND leased_until >= $1 ORDER BY leased_until LIMIT 1`,
      [now],
    );
    return rows[0]?.leased_until ?? null;
  }

  /**
   * Forgets that these queues' SCHEDULED runs were published, so the dispatcher publishes them again (once the
   * queues are unpaused): used when their messages are purged from the bus.
   */
  async forgetDispatches(workQueueIds: string[]): Promise<void> {
    if (workQueueIds.length === 0) return;
    await this.manager.query(
      `UPDATE flow_run SET dispatched_state_id = NULL, dispatched_queue_id = NULL
        WHERE work_queue_id = ANY($1) AND state_type = 'SCHEDULED' AND dispatched_state_id IS NOT NULL`,
      [workQueueIds],
    );
  }

  /** Forgets the publication of these runs (their message was dropped while the row still counted it). */
  async forgetRunDispatches(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.manager.query(
      `UPDATE flow_run SET dispatched_state_id = NULL, dispatched_queue_id = NULL WHERE id = ANY($1)`,
      [ids],
    );
  }

  /**
   * What a poll needs of a pool, by name, with its queues in priority order: one round trip, and only the columns
   * the poll reads (a pool's job template can be large).
   */
  async pollTarget(poolName: string): Promise<PollTarget | null> {
    const rows: (PollPool & { queues: PollQueue[] })[] = await this.manager.query(
      `SELECT wp.id, wp.name, wp.type, wp.is_paused, wp.concurrency_limit,
              coalesce(json_agg(json_build_object('id', wq.id, 'name', wq.name, 'priority', wq.priority,
                                                  'is_paused', wq.is_paused, 'concurrency_limit', wq.concurrency_limit)
                                ORDER BY wq.priority) FILTER (WHERE wq.id IS NOT NULL), '[]') AS queues
         FROM work_pool wp LEFT JOIN work_queue wq ON wq.work_pool_id = wp.id
        WHERE wp.name = $1
        GROUP BY wp.id`,
      [poolName],
    );
    if (rows.length === 0) return null;
    const { queues, ...pool } = rows[0];
    return { pool, queues };
  }

  /** The queues of a pool in priority order (the order a poll drains them in). */
  queuesOfPool(workPoolId: string): Promise<WorkQueueEntity[]> {
    return this.manager
      .getRepository(WorkQueueEntity)
      .find({ where: { work_pool_id: workPoolId }, order: { priority: 'ASC' } });
  }

  /**
   * Slots held per queue: runs in a slot-occupying state (PENDING, RUNNING), plus runs leased to a poller and not yet claimed (a drained
   * run is off the bus, so without its lease the next poll would hand its slot out again).
   */
  busySlots(workQueueIds: string[], now: Date): Promise<Map<string, number>> {
    return this.busySlotsWhere('work_queue_id = ANY($1)', workQueueIds, now);
  }

  /** Slots held per queue, of the queues `queues` (a condition on `work_queue_id` over `$1`) selects. */
  private async busySlotsWhere(queues: string, queuesParameter: unknown, now: Date): Promise<Map<string, number>> {
    const rows: { work_queue_id: string; count: number }[] = await this.manager.query(
      `SELECT work_queue_id, count(*)::int AS count FROM flow_run
        WHERE ${queues} AND state_type = ANY($3) GROUP BY work_queue_id
       UNION ALL
       SELECT work_queue_id, count(*)::int AS count FROM flow_run
        WHERE ${queues} AND leased_until > $2 AND state_type = 'SCHEDULED' GROUP BY work_queue_id`,
      [queuesParameter, now, SLOT_OCCUPYING_STATE_TYPES],
    );
    const busy = new Map<string, number>();
    for (const row of rows) busy.set(row.work_queue_id, (busy.get(row.work_queue_id) ?? 0) + row.count);
    return busy;
  }

  /** Serialises polls of one pool for the rest of the transaction (needed only where slots are limited). */
  async lockPoolSlots(workPoolId: string): Promise<void> {
    await this.manager.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [workPoolId]);
  }

  /**
   * {@link lockPoolSlots} without waiting: resolves to whether the lock is now held. For a caller already holding a
   * run's lock, which must not wait for the pool's (a poll holding it may be waiting for that run: a deadlock).
   */
  async tryLockPoolSlots(workPoolId: string): Promise<boolean> {
    const [row]: { locked: boolean }[] = await this.manager.query(
      `SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0)) AS locked`,
      [workPoolId],
    );
    return row.locked;
  }

  /** {@link busySlots} of every unpaused queue of the pool, in one statement. */
  busySlotsOfPool(workPoolId: string, now: Date): Promise<Map<string, number>> {
    return this.busySlotsWhere(
      `work_queue_id IN (SELECT id FROM work_queue WHERE work_pool_id = $1 AND NOT is_paused)`,
      workPoolId,
      now,
    );
  }

  /**
   * Locks the offered runs by id until the transaction ends, and reads them, with whether their queue and its pool
   * are unpaused now (one round trip: this is on the path of every poll that hands out a run). A message can be
   * pulled before the dispatcher that published it has committed its record of it; this waits for that commit.
   * With no run left to lock, the queue's state does not matter and reads as active.
   */
  async lockOfferedRuns(ids: string[], workQueueId: string): Promise<{ runs: FlowRunEntity[]; queueActive: boolean }> {
    if (ids.length === 0) return { runs: [], queueActive: true };
    const rows: (Record<string, unknown> & { queue_active: boolean | null })[] = await this.manager.query(
      `SELECT fr.*, (${queueActive('$2')}) AS queue_active
         FROM flow_run fr WHERE fr.id = ANY($1) ORDER BY fr.id FOR UPDATE OF fr`,
      [ids, workQueueId],
    );
    return {
      runs: rows.map(({ queue_active: _active, ...row }) => flowRunFromRow(row)),
      queueActive: rows.length === 0 || rows[0].queue_active === true,
    };
  }

  /** Whether the queue and its pool are unpaused now. */
  async isQueueActive(workQueueId: string): Promise<boolean> {
    const rows: { active: boolean | null }[] = await this.manager.query(`SELECT (${queueActive('$1')}) AS active`, [
      workQueueId,
    ]);
    return rows[0].active === true;
  }

  /**
   * Leases runs (locked by {@link lockOfferedRuns}, judged current) to one poller, recording the publication each was
   * delivered from as the run's current one (it may be one a dying dispatcher never recorded, or one a `Late`
   * rename carried over).
   */
  async recordLeases(workQueueId: string, publications: RunPublication[], leaseUntil: Date): Promise<FlowRunEntity[]> {
    if (publications.length === 0) return [];
    const [rows]: [Record<string, unknown>[], number] = await this.manager.query(
      `UPDATE flow_run fr
          SET leased_until = $1, dispatched_state_id = fr.state_id, dispatched_queue_id = $2, dispatch_epoch = m.epoch
         FROM unnest($3::uuid[], $4::int[]) AS m(id, epoch)
        WHERE fr.id = m.id
       RETURNING ${LEASED_RUN_WITH_STATE}`,
      [leaseUntil, workQueueId, publications.map((p) => p.runId), publications.map((p) => p.epoch)],
    );
    return rows.map((row) => this.leasedRun(row));
  }

  /** A row returned by a lease: the run, with its current state attached. */
  private leasedRun({ current_state: state, ...columns }: Record<string, unknown>): FlowRunEntity {
    const run = flowRunFromRow(columns);
    run.state = state ? flowRunStateFromJson(state as Parameters<typeof flowRunStateFromJson>[0]) : null;
    return run;
  }

  /**
   * Sets the lease of runs this transaction just leased (a poll's lease depends on how many runs it returns), and
   * adds the poller, when it names itself, to the workers each run was offered to.
   */
  async setLeases(ids: string[], leaseUntil: Date, poller: string | null): Promise<void> {
    if (ids.length === 0) return;
    await this.manager.query(
      `UPDATE flow_run
          SET leased_until = $1,
              offered_to = CASE WHEN $3::text IS NULL OR $3::text = ANY(coalesce(offered_to, '{}')) THEN offered_to
                                ELSE array_append(coalesce(offered_to, '{}'), $3::text) END
        WHERE id = ANY($2::uuid[])`,
      [leaseUntil, ids, poller],
    );
  }

  /**
   * Leases up to `limit` of the queue's runs scheduled after `horizonEnd` (not on the bus yet), earliest first,
   * skipping rows another transaction holds.
   */
  async leaseBeyondHorizon(
    workQueueId: string,
    horizonEnd: Date,
    window: TimeWindow,
    limit: number,
    leaseUntil: Date,
    now: Date,
  ): Promise<FlowRunEntity[]> {
    if (limit <= 0) return [];
    const [rows]: [Record<string, unknown>[], number] = await this.manager.query(
      // MATERIALIZED: the candidates are chosen once. As a plain subquery the planner may rescan it per row,
      // and each rescan skips the rows this statement already locked, so more than `limit` rows get leased.
      `WITH candidates AS MATERIALIZED (
         SELECT id FROM flow_run
          WHERE work_queue_id = $1 AND state_type = 'SCHEDULED' AND next_scheduled_start_time > $6
            AND ($2::timestamptz IS NULL OR next_scheduled_start_time >= $2)
            AND ($3::timestamptz IS NULL OR next_scheduled_start_time <= $3)
            AND (leased_until IS NULL OR leased_until < $5)
            AND coalesce(empirical_policy->>'retry_type', '') <> 'in_process'
          ORDER BY next_scheduled_start_time LIMIT $7 FOR UPDATE SKIP LOCKED
       )
       UPDATE flow_run fr SET leased_until = $4 FROM candidates c
        WHERE fr.id = c.id
          AND EXISTS (SELECT 1 FROM work_queue wq JOIN work_pool wp ON wp.id = wq.work_pool_id
                       WHERE wq.id = fr.work_queue_id AND ${QUEUE_AND_POOL_ACTIVE})
       RETURNING ${LEASED_RUN_WITH_STATE}`,
      [workQueueId, window.after, window.before, leaseUntil, now, horizonEnd, limit],
    );
    return rows
      .map((row) => this.leasedRun(row))
      .sort((a, b) => (a.next_scheduled_start_time?.getTime() ?? 0) - (b.next_scheduled_start_time?.getTime() ?? 0));
  }

  /**
   * A poll's bookkeeping (Prefect's `record_work_queue_polls`): every polled queue gets `last_polled`, NOT_READY
   * ones become READY (PAUSED stay PAUSED). Resolves to the queues that became READY. Locked in id order, `FOR NO KEY
   * UPDATE` (what the update takes anyway): a poll's transaction holds its queues `FOR KEY SHARE` while it leases runs
   * referring to them, and `FOR UPDATE` would wait for it, and deadlock with it.
   */
  async recordQueuePolls(workQueueIds: string[], polledAt: Date): Promise<{ id: string; name: string }[]> {
    if (workQueueIds.length === 0) return [];
    const [polled]: [{ id: string; name: string; before: string }[], number] = await this.manager.query(
      `UPDATE work_queue wq SET last_polled = $2, updated = now(),
              status = CASE WHEN wq.status = 'NOT_READY' THEN 'READY' ELSE wq.status END
         FROM (SELECT id, status AS before FROM work_queue WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE) AS old
        WHERE wq.id = old.id
       RETURNING wq.id, wq.name, old.before`,
      [workQueueIds, polledAt],
    );
    return polled.filter((row) => row.before === 'NOT_READY').map(({ id, name }) => ({ id, name }));
  }

  /**
   * Deployments on the polled queues become READY with `last_polled` (Prefect's `mark_deployments_ready`:
   * locked in id order so concurrent marks cannot deadlock, and `FOR NO KEY UPDATE` so as not to wait for polls
   * leasing the deployments' runs, see `recordQueuePolls`; `updated` deliberately untouched). Resolves to the
   * deployments that were NOT_READY, with what their events name.
   */
  async markDeploymentsReady(workQueueIds: string[], polledAt: Date): Promise<ReadiedDeployment[]> {
    if (workQueueIds.length === 0) return [];
    return this.manager.query(
      `WITH locked AS (
         SELECT id, status FROM deployment WHERE work_queue_id = ANY($1) ORDER BY id FOR NO KEY UPDATE
       ), changed AS (
         UPDATE deployment d SET status = 'READY', last_polled = $2 FROM locked
          WHERE d.id = locked.id
         RETURNING d.id, d.name, d.flow_id, d.work_queue_id, locked.status AS previous_status
       )
       SELECT changed.id, changed.name, changed.flow_id, f.name AS flow_name, changed.work_queue_id, wq.name AS work_queue_name
         FROM changed JOIN flow f ON f.id = changed.flow_id LEFT JOIN work_queue wq ON wq.id = changed.work_queue_id
        WHERE changed.previous_status = 'NOT_READY'`,
      [workQueueIds, polledAt],
    );
  }
}

/** A deployment a poll turned READY, with the names its `prefect.deployment.ready` event carries. */
export interface ReadiedDeployment {
  id: string;
  name: string;
  flow_id: string;
  flow_name: string;
  work_queue_id: string | null;
  work_queue_name: string | null;
}
