import type { StateDetails, StateType } from '@app/contracts';
import type { StoredRunState } from '@app/domain';
import { Column, ColumnOptions, CreateDateColumn, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

/** `timestamptz` with microsecond precision, as Prefect stores every instant. */
export const timestamp = (options: ColumnOptions = {}): ColumnOptions => ({
  type: 'timestamptz',
  precision: 6,
  ...options,
});

/** A jsonb column. Defaults are written as plain JSON literals so that `migration:generate --check` stays quiet. */
export const json = (defaultValue?: '{}' | '[]', options: ColumnOptions = {}): ColumnOptions => ({
  type: 'jsonb',
  ...(defaultValue === undefined ? { nullable: true } : { default: () => `'${defaultValue}'` }),
  ...options,
});

/** The id/created/updated trio every Prefect ORM object carries. */
export abstract class BaseEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @CreateDateColumn(timestamp())
  created!: Date;

  @UpdateDateColumn(timestamp())
  updated!: Date;
}

/** What a flow-run and a task-run state row share (Prefect's `State` columns); each adds its run's key. */
export abstract class RunStateColumns extends BaseEntity implements StoredRunState {
  @Column({ type: 'varchar' })
  type!: StateType;

  @Column({ type: 'varchar' })
  name!: string;

  @Column(timestamp())
  timestamp!: Date;

  @Column({ type: 'text', nullable: true })
  message!: string | null;

  @Column(json())
  data!: unknown;

  /** Prefect's `StateDetails` JSON; rows written by older code may lack keys, so readers fill in defaults. */
  @Column(json('{}'))
  state_details!: Partial<StateDetails>;
}
