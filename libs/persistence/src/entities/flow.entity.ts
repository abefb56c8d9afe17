import { Column, Entity } from 'typeorm';
import { BaseEntity, json } from './columns';

@Entity('flow')
export class FlowEntity extends BaseEntity {
  @Column({ type: 'varchar', unique: true })
  name!: string;

  @Column(json('[]'))
  tags!: string[];

  @Column(json('{}'))
  labels!: Record<string, unknown>;
}
