import type { FlowRunPolicy } from '@app/contracts';
import type { Actor } from '@app/domain';
import { Column, Entity, Index, JoinColumn, ManyToOne, Unique } from 'typeorm';
import { BaseEntity, json, timestamp } from './columns';
import { FlowEntity } from './flow.entity';
import type { FlowRunStateEntity, StateType } from './flow-run-state.entity';
import { WorkQueueEntity } from './work-queue.entity';

export type { FlowRunPolicy };

/**
 * SQL predicate (columns prefixed with `alias`): a SCHEDULED run whose current state (or queue) has not been published on the bus yet. It is
 * derived from the row alone, so no write path has to remember to flag a run for dispatch.
 */
export const undispatched = (alias = ''): string =>
  `${alias}state_type = 'SCHEDULED' AND (${alias}dispatched_state_id IS DISTINCT FROM ${alias}state_id ` +
  `OR ${alias}dispatched_queue_id IS DISTINCT FROM ${alias}work_queue_id)`;

@Entity('flow_run')
@Unique('uq_flow_run__flow_id_idempotency_key', ['flow_id', 'idempotency_key'])
// Slot counting (RUNNING + PENDING per queue) must be a short range scan, not a scan of every active run.
@Index('ix_flow_run__work_queue_id_state_type', ['work_queue_id', 'state_type'])
// Due runs of a queue in time order: the dispatch path.
@Index(
  'ix_flow_run__work_queue_id_next_scheduled_start_time_scheduled',
  ['work_queue_id', 'next_scheduled_start_time'],
  {
    where: `state_type = 'SCHEDULED'`,
  },
)
// Runs the dispatcher has yet to put on the bus (in this state and queue), in time order: stays small however
// many runs wait on the bus or in the future, so a dispatch pass never scans the backlog.
@Index('ix_flow_run__undispatched_next_scheduled_start_time', ['next_scheduled_start_time'], {
  where: undispatched(),
})
// Runs handed to a poller and not yet claimed: counted as busy slots, and re-dispatched when the lease runs out.
@Index('ix_flow_run__leased', ['work_queue_id', 'leased_until'], { where: `leased_until IS NOT NULL` })
// Runs whose message should be waiting on the bus, per queue: what the reconciler compares with JetStream. Holds
// only published, undelivered runs, so reconciling never scans the backlog or the history.
@Index('ix_flow_run__published_unleased', ['work_queue_id'], {
  where: `state_type = 'SCHEDULED' AND dispatched_state_id IS NOT NULL AND leased_until IS NULL`,
})
// The late-runs service's overdue runs, earliest first (Prefect's `ix_flow_run__scheduler_next_scheduled_start_time`
// serves the same query): only runs still named exactly `Scheduled`, the ones it may mark Late.
@Index('ix_flow_run__late_runs_next_scheduled_start_time', ['next_scheduled_start_time'], {
  where: `state_type = 'SCHEDULED' AND state_name = 'Scheduled'`,
})
@Index(
  'ix_flow_run__deployment_id_auto_scheduled_next_scheduled',
  ['deployment_id', 'auto_scheduled', 'next_scheduled_start_time'],
  {
    where: `state_type = 'SCHEDULED'`,
  },
)
export class FlowRunEntity extends BaseEntity {
  @Column({ type: 'varchar' })
  name!: string;

  // Looked up by flow through uq_flow_run__flow_id_idempotency_key, whose first column it is.
  @Column({ type: 'uuid' })
  flow_id!: string;

  @ManyToOne(() => FlowEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'flow_id' })
  flow?: FlowEntity;

  @Index('ix_flow_run__deployment_id')
  @Column({ type: 'uuid', nullable: true })
  deployment_id!: string | null;

  @Column({ type: 'varchar', nullable: true })
  deployment_version!: string | null;

  @Column({ type: 'uuid', nullable: true })
  work_queue_id!: string | null;

  @ManyToOne(() => WorkQueueEntity, { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'work_queue_id' })
  work_queue?: WorkQueueEntity | null;

  @Index('ix_flow_run__work_queue_name')
  @Column({ type: 'varchar', nullable: true })
  work_queue_name!: string | null;

  @Column({ type: 'varchar', nullable: true })
  flow_version!: string | null;

  @Column(json('{}'))
  parameters!: Record<string, unknown>;

  @Column({ type: 'varchar', nullable: true })
  idempotency_key!: string | null;

  @Column(json('{}'))
  context!: Record<string, unknown>;

  @Column(json('{}'))
  empirical_policy!: Partial<FlowRunPolicy>;

  @Column(json('[]'))
  tags!: string[];

  @Column(json('{}'))
  labels!: Record<string, unknown>;

  // Partial: most runs are not subflows, and lookups always name a task run.
  @Index('ix_flow_run__parent_task_run_id_set', { where: 'parent_task_run_id IS NOT NULL' })
  @Column({ type: 'uuid', nullable: true })
  parent_task_run_id!: string | null;

  @Column({ type: 'uuid', nullable: true })
  state_id!: string | null;

  /** The current state, when a query joined it (`state_id` carries no foreign key, as in Prefect). */
  state?: FlowRunStateEntity | null;

  @Index('ix_flow_run__state_type')
  @Column({ type: 'varchar', nullable: true })
  state_type!: StateType | null;

  @Index('ix_flow_run__state_name')
  @Column({ type: 'varchar', nullable: true })
  state_name!: string | null;

  @Column(timestamp({ nullable: true }))
  state_timestamp!: Date | null;

  @Column({ type: 'int', default: 0 })
  run_count!: number;

  @Column(timestamp({ nullable: true }))
  expected_start_time!: Date | null;

  @Column(timestamp({ nullable: true }))
  next_scheduled_start_time!: Date | null;

  // Partial: scheduled runs have none, and only time ranges (never NULL tests) use it.
  @Index('ix_flow_run__start_time_set', { where: 'start_time IS NOT NULL' })
  @Column(timestamp({ nullable: true }))
  start_time!: Date | null;

  @Column(timestamp({ nullable: true }))
  end_time!: Date | null;

  /** Seconds spent RUNNING, accrued on every transition out of RUNNING. */
  @Column({ type: 'double precision', default: 0 })
  total_run_time!: number;

  @Column({ type: 'boolean', default: false })
  auto_scheduled!: boolean;

  @Column({ type: 'uuid', nullable: true })
  infrastructure_document_id!: string | null;

  @Column({ type: 'varchar', nullable: true })
  infrastructure_pid!: string | null;

  @Column(json())
  created_by!: Actor | null;

  /** Null when a run was created without any (`POST /flow_runs/`), as Prefect stores it. */
  @Column(json('{}', { nullable: true }))
  job_variables!: Record<string, unknown> | null;

  /** The state id this run was last published in (see {@link undispatched}). */
  @Column({ type: 'uuid', nullable: true })
  dispatched_state_id!: string | null;

  /** The queue this run was last published to. */
  @Column({ type: 'uuid', nullable: true })
  dispatched_queue_id!: string | null;

  /** Bumped on every publication; part of the message id, so a stale copy on the bus is recognisable. */
  @Column({ type: 'int', default: 0 })
  dispatch_epoch!: number;

  /**
   * The stream sequence JetStream stored the current publication under (null before it is recorded): the
   * reconciler looks the message up by it to tell a run still on the bus from one the bus lost.
   */
  @Column({
    type: 'bigint',
    nullable: true,
    transformer: {
      to: (value: number | null) => value,
      from: (value: string | null) => (value === null ? null : Number(value)),
    },
  })
  dispatch_seq!: number | null;

  /** Set when a poll hands the run out; cleared by the claim. Until then no other poller receives the run. */
  @Column(timestamp({ nullable: true }))
  leased_until!: Date | null;
}
