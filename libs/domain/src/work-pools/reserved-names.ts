/** Pool names starting with "prefect" (any case) belong to Prefect itself. */
export function isReservedWorkPoolName(name: string): boolean {
  return name.toLowerCase().startsWith('prefect');
}

/** The only fields a reserved pool may have updated. */
const RESERVED_POOL_UPDATABLE_FIELDS = new Set(['is_paused', 'concurrency_limit']);

/** Whether an update touching `fields` is allowed on a reserved pool. */
export function isAllowedReservedPoolUpdate(fields: readonly string[]): boolean {
  return fields.every((field) => RESERVED_POOL_UPDATABLE_FIELDS.has(field));
}
