/**
 * The one place message bodies are written and read: a subject's payload as JSON, and no body at all for a
 * subject that carries `undefined`. Callers pass a `Subject<Payload>` alongside, which is what types the payload.
 */
export function encodeBody(payload: unknown): string | undefined {
  return payload === undefined ? undefined : JSON.stringify(payload);
}

export function decodeBody(data: Uint8Array): unknown {
  return data.length === 0 ? undefined : JSON.parse(Buffer.from(data).toString());
}
