import type { Actor, ConcurrencyOptions, DeploymentStatus } from '@app/domain';
import { Column, Entity, Index, JoinColumn, ManyToOne, OneToMany, Unique } from 'typeorm';
import { BaseEntity, json, timestamp } from './columns';
import { DeploymentScheduleEntity } from './deployment-schedule.entity';
import { FlowEntity } from './flow.entity';
import { WorkQueueEntity } from './work-queue.entity';

@Entity('deployment')
@Unique('uq_deployment__flow_id_name', ['flow_id', 'name'])
export class DeploymentEntity extends BaseEntity {
  @Column({ type: 'varchar' })
  name!: string;

  @Index('ix_deployment__flow_id')
  @Column({ type: 'uuid' })
  flow_id!: string;

  @ManyToOne(() => FlowEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'flow_id' })
  flow?: FlowEntity;

  @Column({ type: 'varchar', nullable: true })
  version!: string | null;

  @Column({ type: 'text', nullable: true })
  description!: string | null;

  @Index('ix_deployment__paused')
  @Column({ type: 'boolean', default: false })
  paused!: boolean;

  @Column({ type: 'varchar', default: 'NOT_READY' })
  status!: DeploymentStatus;

  @Column(timestamp({ nullable: true }))
  last_polled!: Date | null;

  @Column({ type: 'int', nullable: true })
  concurrency_limit!: number | null;

  @Column(json())
  concurrency_options!: ConcurrencyOptions | null;

  @Column(json('{}'))
  parameters!: Record<string, unknown>;

  @Column(json())
  parameter_openapi_schema!: Record<string, unknown> | null;

  @Column({ type: 'boolean', default: true })
  enforce_parameter_schema!: boolean;

  @Column(json('[]'))
  tags!: string[];

  @Column(json('{}'))
  labels!: Record<string, unknown>;

  @Index('ix_deployment__work_queue_name')
  @Column({ type: 'varchar', nullable: true })
  work_queue_name!: string | null;

  @Index('ix_deployment__work_queue_id')
  @Column({ type: 'uuid', nullable: true })
  work_queue_id!: string | null;

  @ManyToOne(() => WorkQueueEntity, { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'work_queue_id' })
  work_queue?: WorkQueueEntity | null;

  @OneToMany(() => DeploymentScheduleEntity, (schedule) => schedule.deployment)
  schedules?: DeploymentScheduleEntity[];

  @Column({ type: 'varchar', nullable: true })
  path!: string | null;

  @Column({ type: 'varchar', nullable: true })
  entrypoint!: string | null;

  @Column(json())
  pull_steps!: Record<string, unknown>[] | null;

  @Column({ type: 'uuid', nullable: true })
  storage_document_id!: string | null;

  @Column({ type: 'uuid', nullable: true })
  infrastructure_document_id!: string | null;

  @Column(json('{}'))
  job_variables!: Record<string, unknown>;

  @Column(json())
  version_info!: Record<string, unknown> | null;

  @Column(json())
  created_by!: Actor | null;

  @Column(json())
  updated_by!: Actor | null;
}
