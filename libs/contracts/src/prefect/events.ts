/** A Prefect event as the server emits it (`prefect.server.events.schemas.events.Event`). */
export interface PrefectEvent {
  id: string;
  occurred: string;
  event: string;
  resource: Record<string, string>;
  related: Record<string, string>[];
  payload: Record<string, unknown>;
  /** The event this one follows, when the two could otherwise arrive out of order. */
  follows?: string | null;
  /** When the server received it (`ReceivedEvent.received`), on events that came in from clients. */
  received?: string;
}
