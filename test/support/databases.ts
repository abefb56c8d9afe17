import { Client } from 'pg';

export const SERVER_URL = process.env.TEST_DATABASE_SERVER ?? 'postgres://postgres@127.0.0.1:5432';

/** The migrated template of this `jest` invocation (set by the global setup; per process so runs never collide). */
export function templateDatabase(): string {
  const name = process.env.TEST_TEMPLATE_DATABASE;
  if (!name) throw new Error('TEST_TEMPLATE_DATABASE is not set: run the suites through jest (global setup)');
  return name;
}

export function databaseUrl(name: string): string {
  return `${SERVER_URL}/${name}`;
}

export async function adminQuery(sql: string): Promise<void> {
  const client = new Client({ connectionString: databaseUrl('postgres') });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A fresh database holding the migrated schema (cloned from the template the global setup prepared). */
export async function createTestDatabase(): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const name = `test_${process.pid}_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  await adminQuery(`CREATE DATABASE "${name}" TEMPLATE "${templateDatabase()}"`);
  return {
    name,
    url: databaseUrl(name),
    drop: () => adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
}
