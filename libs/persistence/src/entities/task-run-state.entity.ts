import { Column, Entity, Index, JoinColumn, ManyToOne } from 'typeorm';
import { RunStateColumns } from './columns';
import { TaskRunEntity } from './task-run.entity';

/** One row per state a task run has been in; the run's `state_id` points at the current one. */
@Entity('task_run_state')
@Index('ix_task_run_state__task_run_id_timestamp', ['task_run_id', 'timestamp'], { unique: true })
export class TaskRunStateEntity extends RunStateColumns {
  @Column({ type: 'uuid' })
  task_run_id!: string;

  @ManyToOne(() => TaskRunEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'task_run_id' })
  task_run?: TaskRunEntity;
}
