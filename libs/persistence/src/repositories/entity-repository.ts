import { DeepPartial, EntityManager, EntityTarget, FindOptionsWhere, ObjectLiteral, Repository } from 'typeorm';
import { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';

/** Query helpers every table shares. Subclasses add the queries of their table; no business rules live here. */
export abstract class EntityRepository<E extends ObjectLiteral & { id: string }> {
  protected readonly repo: Repository<E>;

  constructor(
    protected readonly manager: EntityManager,
    entity: EntityTarget<E>,
  ) {
    this.repo = manager.getRepository(entity);
  }

  findById(id: string): Promise<E | null> {
    return this.repo.findOneBy({ id } as FindOptionsWhere<E>);
  }

  /** Reads the row and locks it until the surrounding transaction ends. */
  findByIdForUpdate(id: string): Promise<E | null> {
    return this.repo.createQueryBuilder('row').setLock('pessimistic_write').where('row.id = :id', { id }).getOne();
  }

  /** Inserts a row and returns it as stored (with generated id, defaults and timestamps). */
  async insert(values: DeepPartial<E>): Promise<E> {
    const result = await this.repo.createQueryBuilder().insert().values(values).returning('*').execute();
    return this.repo.create((result.raw as DeepPartial<E>[])[0]);
  }

  /** Inserts unless a unique constraint says the row exists; resolves to the new row, or null when it existed. */
  async insertIfAbsent(values: DeepPartial<E>): Promise<E | null> {
    const result = await this.repo.createQueryBuilder().insert().values(values).orIgnore().returning('*').execute();
    const row = (result.raw as DeepPartial<E>[])[0];
    return row ? this.repo.create(row) : null;
  }

  /** Updates one row by id; resolves to whether a row matched. */
  async updateById(id: string, values: QueryDeepPartialEntity<E>): Promise<boolean> {
    const result = await this.repo.update({ id } as FindOptionsWhere<E>, values);
    return (result.affected ?? 0) > 0;
  }

  async deleteById(id: string): Promise<boolean> {
    const result = await this.repo.delete({ id } as FindOptionsWhere<E>);
    return (result.affected ?? 0) > 0;
  }
}
