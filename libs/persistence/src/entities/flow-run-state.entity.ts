import type { StateType } from '@app/contracts';
import { Column, Entity, Index, JoinColumn, ManyToOne } from 'typeorm';
import { RunStateColumns } from './columns';
import { FlowRunEntity } from './flow-run.entity';

export { STATE_TYPES } from '@app/contracts';
export type { StateType };

/** One row per state a flow run has been in; the run's `state_id` points at the current one. */
@Entity('flow_run_state')
@Index('ix_flow_run_state__flow_run_id_timestamp', ['flow_run_id', 'timestamp'], { unique: true })
export class FlowRunStateEntity extends RunStateColumns {
  @Column({ type: 'uuid' })
  flow_run_id!: string;

  @ManyToOne(() => FlowRunEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'flow_run_id' })
  flow_run?: FlowRunEntity;
}
