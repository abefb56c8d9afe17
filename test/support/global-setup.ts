// Runs once per `jest` invocation: migrates a template database that each suite clones in milliseconds.
import { prepareDatabase } from '../../libs/persistence/src/database-setup';
import { adminQuery, databaseUrl } from './databases';

export default async function globalSetup(): Promise<void> {
  const name = `test_template_${process.pid}`;
  process.env.TEST_TEMPLATE_DATABASE = name;
  await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await prepareDatabase(databaseUrl(name));
}
