import type { WorkerStatus } from '@app/domain';
import { Column, Entity, Index, JoinColumn, ManyToOne, Unique } from 'typeorm';
import { BaseEntity, timestamp } from './columns';
import { WorkPoolEntity } from './work-pool.entity';

@Entity('worker')
@Unique('uq_worker__work_pool_id_name', ['work_pool_id', 'name'])
@Index('ix_worker__work_pool_id_last_heartbeat_time', ['work_pool_id', 'last_heartbeat_time'])
export class WorkerEntity extends BaseEntity {
  @Column({ type: 'uuid' })
  work_pool_id!: string;

  @ManyToOne(() => WorkPoolEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'work_pool_id' })
  work_pool?: WorkPoolEntity;

  @Column({ type: 'varchar' })
  name!: string;

  @Column(timestamp({ default: () => 'now()' }))
  last_heartbeat_time!: Date;

  @Column({ type: 'int', nullable: true })
  heartbeat_interval_seconds!: number | null;

  @Column({ type: 'varchar', default: 'OFFLINE' })
  status!: WorkerStatus;
}
