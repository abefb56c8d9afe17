import { dataSourceOptions } from '@app/persistence';
import { DataSource } from 'typeorm';
import { createTestDatabase } from '../support/databases';

describe('migrations', () => {
  it('leave no difference between the entities and the migrated schema (no migration is missing)', async () => {
    const database = await createTestDatabase();
    const dataSource = new DataSource(dataSourceOptions(database.url));
    await dataSource.initialize();
    try {
      const pending = await dataSource.driver.createSchemaBuilder().log();
      expect(pending.upQueries.map((q) => q.query)).toEqual([]);
    } finally {
      await dataSource.destroy();
      await database.drop();
    }
  });
});
