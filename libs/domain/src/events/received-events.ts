import { formatPreciseDateTime, parsePreciseDateTime, PrefectEvent } from '@app/contracts';

/** Prefect's `PREFECT_SERVER_EVENTS_MAXIMUM_EVENT_NAME_LENGTH` default. */
const MAXIMUM_EVENT_NAME_LENGTH = 1024;
/** Prefect's `PREFECT_SERVER_EVENTS_MAXIMUM_LABELS_PER_RESOURCE` default. */
const MAXIMUM_LABELS_PER_RESOURCE = 500;
/** Prefect's `PREFECT_SERVER_EVENTS_MAXIMUM_RELATED_RESOURCES` default, as the server validates incoming events. */
const MAXIMUM_RELATED_RESOURCES = 100;

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** A message on `/api/events/in` that is not a Prefect `Event` (Prefect's server fails on its `ValidationError`). */
export class InvalidEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidEventError';
  }
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A UUID in any form Python's `UUID()` reads here, canonical and lowercase; null when it is not one. */
export function canonicalUuid(value: unknown): string | null {
  if (typeof value !== 'string' || !UUID.test(value)) return null;
  const hex = value.replace(/-/g, '').toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Prefect's `Resource` (or, with a role, `RelatedResource`): string labels with a non-empty id. */
function resource(value: unknown, where: string, requireRole: boolean): Record<string, string> {
  if (!isObject(value)) throw new InvalidEventError(`${where}: Input should be a valid dictionary`);
  const labels = Object.entries(value);
  for (const [label, text] of labels) {
    if (typeof text !== 'string') throw new InvalidEventError(`${where}.${label}: Input should be a valid string`);
  }
  if (labels.length > MAXIMUM_LABELS_PER_RESOURCE) {
    throw new InvalidEventError(
      `${where}: The maximum number of labels per resource is ${MAXIMUM_LABELS_PER_RESOURCE}`,
    );
  }
  if (!value['prefect.resource.id']) {
    throw new InvalidEventError(`${where}: Resources must include a non-empty prefect.resource.id label`);
  }
  if (requireRole && !value['prefect.resource.role']) {
    throw new InvalidEventError(`${where}: Related Resources must include a non-empty prefect.resource.role label`);
  }
  return value as Record<string, string>;
}

/**
 * Prefect's `Event.model_validate_json(text).receive()`: a client's event as the server takes it in, stamped with
 * when it was `received`. Keys Prefect's model does not know are dropped (a client's own `received` among them);
 * the optional ones get their defaults; ids come out canonical and instants as microsecond-precise UTC text.
 * Throws {@link InvalidEventError} for anything Prefect's model refuses.
 */
export function receiveEvent(text: string, received: Date): PrefectEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new InvalidEventError(`Invalid JSON: ${(error as Error).message}`);
  }
  if (!isObject(parsed)) throw new InvalidEventError('Input should be an object');

  const id = canonicalUuid(parsed.id);
  if (!id) throw new InvalidEventError('id: Input should be a valid UUID');
  const occurred = parsePreciseDateTime(parsed.occurred);
  if (!occurred) throw new InvalidEventError('occurred: Input should be a valid datetime');
  if (typeof parsed.event !== 'string') throw new InvalidEventError('event: Input should be a valid string');
  if (parsed.event.length > MAXIMUM_EVENT_NAME_LENGTH) {
    throw new InvalidEventError(`event: Event name must be at most ${MAXIMUM_EVENT_NAME_LENGTH} characters`);
  }
  const related = parsed.related === undefined ? [] : parsed.related;
  if (!Array.isArray(related)) throw new InvalidEventError('related: Input should be a valid list');
  if (related.length > MAXIMUM_RELATED_RESOURCES) {
    throw new InvalidEventError(`related: The maximum number of related resources is ${MAXIMUM_RELATED_RESOURCES}`);
  }
  const payload = parsed.payload === undefined ? {} : parsed.payload;
  if (!isObject(payload)) throw new InvalidEventError('payload: Input should be a valid dictionary');
  const follows = parsed.follows == null ? null : canonicalUuid(parsed.follows);
  if (parsed.follows != null && !follows) throw new InvalidEventError('follows: Input should be a valid UUID');

  return {
    occurred,
    event: parsed.event,
    resource: resource(parsed.resource, 'resource', false),
    related: related.map((entry, index) => resource(entry, `related.${index}`, true)),
    payload,
    id,
    follows,
    received: formatPreciseDateTime(received),
  };
}
