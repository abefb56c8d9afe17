import type { TaskRunPolicyJson } from '@app/domain';
import { Column, Entity, Index, JoinColumn, ManyToOne, Unique } from 'typeorm';
import { BaseEntity, json, timestamp } from './columns';
import { FlowRunEntity } from './flow-run.entity';
import type { StateType } from './flow-run-state.entity';

@Entity('task_run')
// Prefect's create is idempotent on this key: the same task call in the same flow run is one task run.
@Unique('uq_task_run__flow_run_id_task_key_dynamic_key', ['flow_run_id', 'task_key', 'dynamic_key'])
@Index('ix_task_run__flow_run_id_expected_start_time', ['flow_run_id', 'expected_start_time'])
export class TaskRunEntity extends BaseEntity {
  @Column({ type: 'varchar' })
  name!: string;

  @Column({ type: 'uuid', nullable: true })
  flow_run_id!: string | null;

  @ManyToOne(() => FlowRunEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'flow_run_id' })
  flow_run?: FlowRunEntity | null;

  @Column({ type: 'varchar' })
  task_key!: string;

  @Column({ type: 'varchar' })
  dynamic_key!: string;

  @Column({ type: 'varchar', nullable: true })
  cache_key!: string | null;

  @Column(timestamp({ nullable: true }))
  cache_expiration!: Date | null;

  @Column({ type: 'varchar', nullable: true })
  task_version!: string | null;

  @Column(json('{}'))
  empirical_policy!: TaskRunPolicyJson;

  @Column(json('[]'))
  tags!: string[];

  @Column(json('{}'))
  labels!: Record<string, unknown>;

  @Column(json('{}'))
  task_inputs!: Record<string, unknown>;

  @Column({ type: 'uuid', nullable: true })
  state_id!: string | null;

  @Index('ix_task_run__state_type')
  @Column({ type: 'varchar', nullable: true })
  state_type!: StateType | null;

  @Column({ type: 'varchar', nullable: true })
  state_name!: string | null;

  @Column(timestamp({ nullable: true }))
  state_timestamp!: Date | null;

  @Column({ type: 'int', default: 0 })
  run_count!: number;

  @Column({ type: 'int', default: 0 })
  flow_run_run_count!: number;

  @Index('ix_task_run__expected_start_time')
  @Column(timestamp({ nullable: true }))
  expected_start_time!: Date | null;

  @Column(timestamp({ nullable: true }))
  next_scheduled_start_time!: Date | null;

  @Index('ix_task_run__start_time')
  @Column(timestamp({ nullable: true }))
  start_time!: Date | null;

  @Column(timestamp({ nullable: true }))
  end_time!: Date | null;

  /** Seconds spent RUNNING. */
  @Column({ type: 'double precision', default: 0 })
  total_run_time!: number;
}
