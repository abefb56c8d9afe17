/**
 * Every NATS subject, stream and consumer name the system uses, derived from the namespace
 * (`NATS_NAMESPACE`) so that two installations can share one server. Ids, never names, appear in
 * subjects: names may hold characters a subject token cannot.
 */
export function natsNames(namespace: string) {
  return {
    namespace,
  } as const;
}
export type NatsNames = ReturnType<typeof natsNames>;
