import type { StateDetails, StateType } from '@app/contracts';
import { Column, Entity, Index, JoinColumn, ManyToOne } from 'typeorm';
import { BaseEntity, json, timestamp } from './columns';
import { TaskRunEntity } from './task-run.entity';

/** One row per state a task run has been in; the run's `state_id` points at the current one. */
@Entity('task_run_state')
@Index('ix_task_run_state__task_run_id_timestamp', ['task_run_id', 'timestamp'], { unique: true })
export class TaskRunStateEntity extends BaseEntity {
  @Column({ type: 'uuid' })
  task_run_id!: string;

  @ManyToOne(() => TaskRunEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'task_run_id' })
  task_run?: TaskRunEntity;

  @Column({ type: 'varchar' })
  type!: StateType;

  @Column({ type: 'varchar' })
  name!: string;

  @Column(timestamp())
  timestamp!: Date;

  @Column({ type: 'text', nullable: true })
  message!: string | null;

  @Column(json())
  data!: unknown;

  @Column(json('{}'))
  state_details!: Partial<StateDetails>;
}
