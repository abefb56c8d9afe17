import { ColumnOptions, CreateDateColumn, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

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
