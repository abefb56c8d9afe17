import type { WorkPoolStatus } from '@app/domain';
import { Column, Entity } from 'typeorm';
import { BaseEntity, json, timestamp } from './columns';

@Entity('work_pool')
export class WorkPoolEntity extends BaseEntity {
  @Column({ type: 'varchar', unique: true })
  name!: string;

  @Column({ type: 'text', nullable: true })
  description!: string | null;

  @Column({ type: 'varchar' })
  type!: string;

  @Column(json('{}'))
  base_job_template!: Record<string, unknown>;

  @Column({ type: 'boolean', default: false })
  is_paused!: boolean;

  @Column({ type: 'int', nullable: true })
  concurrency_limit!: number | null;

  @Column({ type: 'varchar', default: 'NOT_READY' })
  status!: WorkPoolStatus;

  @Column({ type: 'uuid', nullable: true })
  default_queue_id!: string | null;

  @Column(json('{}'))
  storage_configuration!: Record<string, unknown>;

  @Column(timestamp({ nullable: true }))
  last_transitioned_status_at!: Date | null;

  @Column({ type: 'uuid', nullable: true })
  last_status_event_id!: string | null;
}
