import { Subject } from '@app/contracts';

/** A message ready for the wire: its subject, and its body written as the subject carries it. */
export interface OutgoingMessage {
  subject: string;
  body: string | undefined;
}

/**
 * The one place message bodies are written: a subject's payload as JSON, no body at all for a subject that
 * carries `undefined`. Written at once, so a payload that cannot be written fails its caller, not a later send.
 */
export function outgoing<Payload>(subject: Subject<Payload>, payload: NoInfer<Payload>): OutgoingMessage {
  return { subject, body: payload === undefined ? undefined : JSON.stringify(payload) };
}

/** The one place message bodies are read: the caller's subscription says which payload type to expect. */
export function decodeBody(data: Uint8Array): unknown {
  return data.length === 0 ? undefined : JSON.parse(Buffer.from(data).toString());
}

/**
 * A body received but not read yet, for a subscriber that may never need it (the gateway keeps every event for a
 * backfill few ask for): copied off the connection's read buffer, which it would otherwise keep alive, and read by
 * {@link decodeBody} only when asked, each time asked.
 */
export class UnreadBody<Payload = unknown> {
  private readonly data: Uint8Array;

  constructor(data: Uint8Array) {
    // A copy (a Buffer's `slice` would be a view of the same memory).
    this.data = new Uint8Array(data);
  }

  /** The payload, as {@link decodeBody} reads it (throws on a body that is not JSON). */
  read(): Payload {
    return decodeBody(this.data) as Payload;
  }
}
