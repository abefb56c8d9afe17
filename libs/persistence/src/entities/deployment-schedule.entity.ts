import type { Schedule } from '@app/domain';
import { Column, Entity, Index, JoinColumn, ManyToOne, Unique } from 'typeorm';
import { BaseEntity, json } from './columns';
import { DeploymentEntity } from './deployment.entity';

@Entity('deployment_schedule')
@Unique('uq_deployment_schedule__deployment_id_slug', ['deployment_id', 'slug'])
export class DeploymentScheduleEntity extends BaseEntity {
  @Index('ix_deployment_schedule__deployment_id')
  @Column({ type: 'uuid' })
  deployment_id!: string;

  @ManyToOne(() => DeploymentEntity, (deployment) => deployment.schedules, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'deployment_id' })
  deployment?: DeploymentEntity;

  @Column({ type: 'jsonb' })
  schedule!: Schedule;

  @Column({ type: 'boolean', default: true })
  active!: boolean;

  @Column({ type: 'int', nullable: true })
  max_scheduled_runs!: number | null;

  @Column(json('{}'))
  parameters!: Record<string, unknown>;

  @Column({ type: 'varchar', nullable: true })
  slug!: string | null;
}
