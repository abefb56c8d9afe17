import { formatPreciseDateTime, parsePreciseDateTime, parseTextSearchQuery, PrefectEvent } from '@app/contracts';
import type { TextSearchQuery } from '@app/contracts';
import { canonicalUuid } from './received-events';

/** Prefect's `PREFECT_SERVER_EVENTS_MAXIMUM_WEBSOCKET_BACKFILL` default: how far back a subscriber may look. */
export const MAXIMUM_WEBSOCKET_BACKFILL_MS = 15 * 60_000;
const DEFAULT_LOOKBACK_DAYS = 180;
const TEXT_QUERY_MAX_LENGTH = 200;

/** A `filter` message's filter that Prefect's `EventFilter` model refuses (the socket is closed with its reason). */
export class InvalidEventFilterError extends Error {
  constructor(
    readonly loc: string,
    detail: string,
  ) {
    super(`1 validation error for EventFilter ${loc}: ${detail}`);
    this.name = 'InvalidEventFilterError';
  }
}

/** Label name → glob patterns (a leading `!` negates), as Prefect's `ResourceSpecification`. */
type ResourceSpecification = Record<string, string[]>;

interface NameCriteria {
  prefix: string[] | null;
  excludePrefix: string[] | null;
  name: string[] | null;
  excludeName: string[] | null;
}

interface ResourceCriteria {
  id: string[] | null;
  idPrefix: string[] | null;
  labels: ResourceSpecification | null;
}

interface RelatedCriteria {
  id: string[] | null;
  role: string[] | null;
  resourcesInRoles: [string, string][] | null;
  labels: ResourceSpecification | null;
}

/**
 * Prefect's `EventFilter` (`prefect.server.events.filters`), read from a `filter` message: every criterion present
 * must hold (AND), lists within one criterion are alternatives (OR). Instants are kept in
 * {@link parsePreciseDateTime}'s form, which orders as text.
 */
export interface EventFilter {
  occurred: { since: string; until: string };
  event: NameCriteria | null;
  resource: ResourceCriteria | null;
  related: RelatedCriteria[];
  anyResource: ResourceCriteria[];
  id: string[] | null;
  text: TextSearchQuery | null;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Reads one filter model's fields, refusing unknown ones as Prefect's filters (`extra="forbid"`) do. */
class Fields {
  constructor(
    private readonly value: Record<string, unknown>,
    private readonly loc: string,
    known: string[],
  ) {
    const unknown = Object.keys(value).find((key) => !known.includes(key));
    if (unknown !== undefined) throw new InvalidEventFilterError(this.at(unknown), 'Extra inputs are not permitted');
  }

  at(field: string): string {
    return this.loc ? `${this.loc}.${field}` : field;
  }

  strings(field: string): string[] | null {
    const value = this.value[field];
    if (value == null) return null;
    if (!Array.isArray(value)) throw new InvalidEventFilterError(this.at(field), 'Input should be a valid list');
    value.forEach((item, index) => {
      if (typeof item !== 'string') {
        throw new InvalidEventFilterError(`${this.at(field)}.${index}`, 'Input should be a valid string');
      }
    });
    return value as string[];
  }

  object(field: string): Record<string, unknown> | null {
    const value = this.value[field];
    if (value == null) return null;
    if (!isObject(value)) throw new InvalidEventFilterError(this.at(field), 'Input should be a valid dictionary');
    return value;
  }

  /** A model or a list of them (`related`, `any_resource`). */
  objects(field: string): { value: Record<string, unknown>; loc: string }[] {
    const value = this.value[field];
    if (value == null) return [];
    if (isObject(value)) return [{ value, loc: this.at(field) }];
    if (!Array.isArray(value)) throw new InvalidEventFilterError(this.at(field), 'Input should be a valid dictionary');
    return value.map((item, index) => {
      const loc = `${this.at(field)}.${index}`;
      if (!isObject(item)) throw new InvalidEventFilterError(loc, 'Input should be a valid dictionary');
      return { value: item, loc };
    });
  }

  instant(field: string, fallback: () => string): string {
    const value = this.value[field];
    if (value === undefined) return fallback();
    const instant = parsePreciseDateTime(value);
    if (!instant) throw new InvalidEventFilterError(this.at(field), 'Input should be a valid datetime');
    return instant;
  }

  labels(field: string): ResourceSpecification | null {
    const value = this.object(field);
    if (value === null) return null;
    const labels: ResourceSpecification = {};
    for (const [label, expected] of Object.entries(value)) {
      if (typeof expected === 'string') labels[label] = [expected];
      else if (Array.isArray(expected) && expected.every((item) => typeof item === 'string')) {
        labels[label] = expected;
      } else throw new InvalidEventFilterError(`${this.at(field)}.${label}`, 'Input should be a valid string');
    }
    return labels;
  }

  boolean(field: string): void {
    const value = this.value[field];
    if (value !== undefined && typeof value !== 'boolean') {
      throw new InvalidEventFilterError(this.at(field), 'Input should be a valid boolean');
    }
  }
}

function resourceCriteria(value: Record<string, unknown>, loc: string, extra: string[] = []): ResourceCriteria {
  const fields = new Fields(value, loc, ['id', 'id_prefix', 'labels', ...extra]);
  return { id: fields.strings('id'), idPrefix: fields.strings('id_prefix'), labels: fields.labels('labels') };
}

function relatedCriteria(value: Record<string, unknown>, loc: string): RelatedCriteria {
  const fields = new Fields(value, loc, ['id', 'role', 'resources_in_roles', 'labels']);
  const pairs = value.resources_in_roles;
  let resourcesInRoles: [string, string][] | null = null;
  if (pairs != null) {
    if (!Array.isArray(pairs)) {
      throw new InvalidEventFilterError(fields.at('resources_in_roles'), 'Input should be a valid list');
    }
    resourcesInRoles = pairs.map((pair, index) => {
      if (!Array.isArray(pair) || pair.length !== 2 || !pair.every((item) => typeof item === 'string')) {
        throw new InvalidEventFilterError(
          `${fields.at('resources_in_roles')}.${index}`,
          'Input should be a valid tuple',
        );
      }
      return [pair[0], pair[1]] as [string, string];
    });
  }
  return { id: fields.strings('id'), role: fields.strings('role'), resourcesInRoles, labels: fields.labels('labels') };
}

/**
 * Prefect's `EventFilter.model_validate(message["filter"])` as `/events/out` reads it, then clamped as its server
 * clamps it: `occurred.since` no further back than {@link MAXIMUM_WEBSOCKET_BACKFILL_MS}. The defaults are
 * Prefect's: since 180 days before the start of today, until now — so a filter without `occurred` matches nothing
 * that happens after it was read (Prefect's client always sends `until`, a year ahead).
 */
export function readEventFilter(value: unknown, now: Date): EventFilter {
  if (!isObject(value)) throw new InvalidEventFilterError('', 'Input should be a valid dictionary');
  const fields = new Fields(value, '', [
    'occurred',
    'event',
    'resource',
    'related',
    'any_resource',
    'id',
    'text',
    'order',
  ]);

  const occurredValue = fields.object('occurred') ?? {};
  const occurred = new Fields(occurredValue, 'occurred', ['since', 'until']);
  const startOfDay = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  const since = occurred.instant('since', () =>
    formatPreciseDateTime(new Date(startOfDay.getTime() - DEFAULT_LOOKBACK_DAYS * 86_400_000)),
  );
  const until = occurred.instant('until', () => formatPreciseDateTime(now));
  const earliest = formatPreciseDateTime(new Date(now.getTime() - MAXIMUM_WEBSOCKET_BACKFILL_MS));

  const eventValue = fields.object('event');
  let event: NameCriteria | null = null;
  if (eventValue !== null) {
    const names = new Fields(eventValue, 'event', ['prefix', 'exclude_prefix', 'name', 'exclude_name']);
    event = {
      prefix: names.strings('prefix'),
      excludePrefix: names.strings('exclude_prefix'),
      name: names.strings('name'),
      excludeName: names.strings('exclude_name'),
    };
  }

  const resourceValue = fields.object('resource');
  let resource: ResourceCriteria | null = null;
  if (resourceValue !== null) {
    resource = resourceCriteria(resourceValue, 'resource', ['distinct']);
    new Fields(resourceValue, 'resource', ['id', 'id_prefix', 'labels', 'distinct']).boolean('distinct');
  }

  const idValue = fields.object('id') ?? {};
  const idFields = new Fields(idValue, 'id', ['id']);
  const ids = idFields.strings('id')?.map((id, index) => {
    const canonical = canonicalUuid(id);
    if (!canonical) throw new InvalidEventFilterError(`id.id.${index}`, 'Input should be a valid UUID');
    return canonical;
  });

  const textValue = fields.object('text');
  let text: TextSearchQuery | null = null;
  if (textValue !== null) {
    const textFields = new Fields(textValue, 'text', ['query']);
    const query = textValue.query;
    if (typeof query !== 'string') {
      throw new InvalidEventFilterError(textFields.at('query'), 'Input should be a valid string');
    }
    if (query.length > TEXT_QUERY_MAX_LENGTH) {
      throw new InvalidEventFilterError(
        textFields.at('query'),
        `String should have at most ${TEXT_QUERY_MAX_LENGTH} characters`,
      );
    }
    text = parseTextSearchQuery(query);
  }

  if (value.order != null && value.order !== 'ASC' && value.order !== 'DESC') {
    throw new InvalidEventFilterError('order', "Input should be 'ASC' or 'DESC'");
  }

  return {
    occurred: { since: since < earliest ? earliest : since, until },
    event,
    resource,
    related: fields.objects('related').map(({ value: item, loc }) => relatedCriteria(item, loc)),
    anyResource: fields.objects('any_resource').map(({ value: item, loc }) => resourceCriteria(item, loc)),
    id: ids ?? null,
    text,
  };
}

/** Python's `fnmatch.fnmatchcase`: `*`, `?` and `[...]` classes (`[!...]` negated), case-sensitive, whole value. */
function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i += 1) {
    const c = pattern[i];
    if (c === '*') source += '[\\s\\S]*';
    else if (c === '?') source += '[\\s\\S]';
    else if (c === '[') {
      const close = pattern.indexOf(']', pattern[i + 1] === '!' ? i + 3 : i + 2);
      if (close === -1) source += '\\[';
      else {
        let body = pattern.slice(i + 1, close).replace(/\\/g, '\\\\');
        if (body.startsWith('!')) body = `^${body.slice(1)}`;
        else if (body.startsWith('^')) body = `\\${body}`;
        source += `[${body}]`;
        i = close;
      }
    } else source += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 'u');
}

const globs = new Map<string, RegExp>();
/** Prefect's `matches`: a glob, negated by a leading `!`; a missing label matches nothing, negated or not. */
function labelMatches(expected: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  const negated = expected.startsWith('!');
  const pattern = negated ? expected.slice(1) : expected;
  let regexp = globs.get(pattern);
  if (regexp === undefined) {
    regexp = globToRegExp(pattern);
    if (globs.size < 10_000) globs.set(pattern, regexp);
  }
  return regexp.test(value) !== negated;
}

const specificationMatches = (labels: ResourceSpecification, resource: Record<string, string>): boolean =>
  Object.entries(labels).every(([label, expected]) =>
    expected.some((candidate) => labelMatches(candidate, resource[label])),
  );

function resourceMatches(criteria: ResourceCriteria, resource: Record<string, string>): boolean {
  const id = resource['prefect.resource.id'];
  if (criteria.id?.length && !criteria.id.includes(id)) return false;
  if (criteria.idPrefix?.length && !criteria.idPrefix.some((prefix) => id.startsWith(prefix))) return false;
  if (criteria.labels && !specificationMatches(criteria.labels, resource)) return false;
  return true;
}

/**
 * One related resource satisfying every criterion, as Prefect's backfill query reads `related` (its live stream
 * does not apply `related` at all; here both do, so a subscriber gets the same events either way).
 */
function relatedMatches(criteria: RelatedCriteria, related: Record<string, string>[]): boolean {
  const anything =
    criteria.id?.length || criteria.role?.length || criteria.resourcesInRoles?.length || criteria.labels !== null;
  if (!anything) return true;
  return related.some((resource) => {
    const id = resource['prefect.resource.id'];
    const role = resource['prefect.resource.role'];
    if (criteria.id?.length && !criteria.id.includes(id)) return false;
    if (criteria.role?.length && !criteria.role.includes(role)) return false;
    if (criteria.resourcesInRoles?.length && !criteria.resourcesInRoles.some(([i, r]) => i === id && r === role)) {
      return false;
    }
    return criteria.labels === null || specificationMatches(criteria.labels, resource);
  });
}

function textMatches(query: TextSearchQuery, event: PrefectEvent): boolean {
  const searchable = [
    event.event,
    ...Object.values(event.resource),
    ...event.related.flatMap((resource) => Object.values(resource)),
    JSON.stringify(event.payload),
  ]
    .join(' ')
    .toLowerCase();
  const has = (term: string) => searchable.includes(term.toLowerCase());
  if (query.include.length > 0 && !query.include.some(has)) return false;
  if (query.exclude.some(has)) return false;
  return query.required.every(has);
}

/** Prefect's `EventFilter.includes`: would a subscriber with this filter be sent this event? */
export function eventFilterIncludes(filter: EventFilter, event: PrefectEvent): boolean {
  const occurred = parsePreciseDateTime(event.occurred);
  if (!occurred || occurred < filter.occurred.since || occurred > filter.occurred.until) return false;
  const names = filter.event;
  if (names) {
    const name = event.event;
    if (names.prefix?.length && !names.prefix.some((prefix) => name.startsWith(prefix))) return false;
    if (names.excludePrefix?.some((prefix) => name.startsWith(prefix))) return false;
    if (names.name?.length && !names.name.includes(name)) return false;
    if (names.excludeName?.includes(name)) return false;
  }
  if (filter.resource && !resourceMatches(filter.resource, event.resource)) return false;
  if (!filter.related.every((criteria) => relatedMatches(criteria, event.related))) return false;
  const resources = [event.resource, ...event.related];
  for (const criteria of filter.anyResource) {
    if (!resources.some((resource) => resourceMatches(criteria, resource))) return false;
  }
  if (filter.id?.length && !filter.id.includes(event.id)) return false;
  if (filter.text && !textMatches(filter.text, event)) return false;
  return true;
}
