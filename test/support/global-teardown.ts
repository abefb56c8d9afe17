import { adminQuery } from './databases';

export default async function globalTeardown(): Promise<void> {
  const name = process.env.TEST_TEMPLATE_DATABASE;
  if (name) await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
}
