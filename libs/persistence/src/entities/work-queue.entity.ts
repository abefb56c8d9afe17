import type { WorkQueueStatus } from '@app/domain';
import { Column, Entity, Index, JoinColumn, ManyToOne, Unique } from 'typeorm';
import { BaseEntity, json, timestamp } from './columns';
import { WorkPoolEntity } from './work-pool.entity';

@Entity('work_queue')
@Unique('uq_work_queue__work_pool_id_name', ['work_pool_id', 'name'])
@Index('ix_work_queue__work_pool_id_priority', ['work_pool_id', 'priority'])
export class WorkQueueEntity extends BaseEntity {
  @Column({ type: 'uuid' })
  work_pool_id!: string;

  @ManyToOne(() => WorkPoolEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'work_pool_id' })
  work_pool?: WorkPoolEntity;

  @Column({ type: 'varchar' })
  name!: string;

  @Column({ type: 'text', nullable: true, default: '' })
  description!: string | null;

  @Column({ type: 'boolean', default: false })
  is_paused!: boolean;

  @Column({ type: 'int', nullable: true })
  concurrency_limit!: number | null;

  @Column({ type: 'int' })
  priority!: number;

  @Column(timestamp({ nullable: true }))
  last_polled!: Date | null;

  @Column({ type: 'varchar', default: 'NOT_READY' })
  status!: WorkQueueStatus;

  @Column(json())
  filter!: Record<string, unknown> | null;
}
