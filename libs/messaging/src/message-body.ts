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
