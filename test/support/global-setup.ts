// Runs once per `jest` invocation: migrates a template database that each suite clones in milliseconds.
import { prepareDatabase } from '../../libs/persistence/src/database-setup';
import { adminQuery, databaseUrl, TEMPLATE_DATABASE } from './databases';

export default async function globalSetup(): Promise<void> {
  await adminQuery(`DROP DATABASE IF EXISTS "${TEMPLATE_DATABASE}" WITH (FORCE)`);
  await prepareDatabase(databaseUrl(TEMPLATE_DATABASE));
}
