import { Column, Entity, Index } from 'typeorm';
import { BaseEntity, timestamp } from './columns';

/**
 * One log line a flow or task run sent (`POST /logs/`). The run ids carry no foreign key, as in Prefect: logs
 * may arrive before the run they name is known, and outlive it.
 */
@Entity('log')
// A run's logs in time order: what `POST /logs/filter` by flow run serves.
@Index('ix_log__flow_run_id_timestamp', ['flow_run_id', 'timestamp'])
export class LogEntity extends BaseEntity {
  @Column({ type: 'varchar' })
  name!: string;

  @Index('ix_log__level')
  @Column({ type: 'smallint' })
  level!: number;

  @Column({ type: 'uuid', nullable: true })
  flow_run_id!: string | null;

  @Index('ix_log__task_run_id')
  @Column({ type: 'uuid', nullable: true })
  task_run_id!: string | null;

  @Column({ type: 'text' })
  message!: string;

  /** When the client logged the line (not when it reached us). */
  @Index('ix_log__timestamp')
  @Column(timestamp())
  timestamp!: Date;
}
