import { Column, Entity, Index, JoinColumn, ManyToOne, type Relation } from 'typeorm';
import { BaseEntity, timestamp } from './columns';
// Named, not imported: loading the deployment entity from here would break its import cycle with its schedules.
import type { DeploymentEntity } from './deployment.entity';
import type { FlowRunEntity } from './flow-run.entity';

/**
 * One slot of a deployment's concurrency limit, held by one flow run (Prefect's `concurrency_limit_v2` row of the
 * deployment plus its lease storage, in one table): a deployment's busy slots are its leases that have not
 * expired. Deleting the run or the deployment frees the slot.
 */
@Entity('deployment_concurrency_lease')
// Counting a deployment's live leases must be a short range scan.
@Index('ix_deployment_concurrency_lease__deployment_id_expires_at', ['deployment_id', 'expires_at'])
export class DeploymentConcurrencyLeaseEntity extends BaseEntity {
  @Column({ type: 'uuid' })
  deployment_id!: string;

  @ManyToOne('DeploymentEntity', { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'deployment_id' })
  deployment?: Relation<DeploymentEntity>;

  @Index('ix_deployment_concurrency_lease__flow_run_id')
  @Column({ type: 'uuid' })
  flow_run_id!: string;

  @ManyToOne('FlowRunEntity', { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'flow_run_id' })
  flow_run?: Relation<FlowRunEntity>;

  /** Null for a lease held until released: a client too old to renew leases keeps its slot while it runs. */
  @Column(timestamp({ nullable: true }))
  expires_at!: Date | null;
}
