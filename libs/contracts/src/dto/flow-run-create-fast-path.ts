import { parseDateTime } from '../date-time';
import { DeploymentFlowRunCreateDto } from './flow-run.dto';
import { STATE_TYPES, StateCreateDto, StateDetailsDto, StateType } from './state.dto';
import { MAX_PARAMETER_BYTES } from './validators';

type Plain = Record<string, unknown>;

const isPlainObject = (value: unknown): value is Plain =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isOptionalString = (value: unknown): value is string | null => value === null || typeof value === 'string';
const STATE_TYPE_SET: ReadonlySet<unknown> = new Set(STATE_TYPES);
const isStateType = (value: unknown): value is StateType => STATE_TYPE_SET.has(value);

/** Keys whose accepted values (below) are taken as they are: validation would convert none of them. */
const SIMPLE_KEYS = new Map<string, (value: unknown) => boolean>(
  Object.entries({
    name: isOptionalString,
    idempotency_key: isOptionalString,
    work_queue_name: isOptionalString,
    enforce_parameter_schema: (value) => value === null || typeof value === 'boolean',
    context: isPlainObject,
    job_variables: (value) => value === null || isPlainObject(value),
    tags: (value) => Array.isArray(value) && value.every((tag) => typeof tag === 'string'),
    labels: (value) =>
      value === null ||
      (isPlainObject(value) &&
        Object.values(value).every((v) => typeof v === 'boolean' || typeof v === 'number' || typeof v === 'string')),
  }),
);

/**
 * Plain JSON copied as class-transformer copies it for an untyped property: objects and arrays anew. Undefined (no
 * JSON value) for a value holding a key every object inherits (`__proto__`, `constructor`, `toString`, ...): one
 * sets a prototype, class-transformer treats the others its own way, so such a body takes the full way.
 */
function copyJson(value: unknown): unknown {
  if (Array.isArray(value)) {
    const copy = value.map(copyJson);
    return copy.includes(undefined) ? undefined : copy;
  }
  if (isPlainObject(value)) {
    const copy: Plain = {};
    for (const key of Object.keys(value)) {
      const item = key in Object.prototype ? undefined : copyJson(value[key]);
      if (item === undefined) return undefined;
      copy[key] = item;
    }
    return copy;
  }
  return value;
}

/** A proposed state of the common shape (type, name, message, a scheduled time); undefined when not that simple. */
function simpleState(raw: unknown): StateCreateDto | null | undefined {
  if (raw === null) return null;
  if (!isPlainObject(raw) || !isStateType(raw.type)) return undefined;
  const state = new StateCreateDto();
  for (const key of Object.keys(raw)) {
    const value = raw[key];
    if (key === 'type') {
      if (!isStateType(value)) return undefined;
      state.type = value;
    } else if (key === 'name' || key === 'message') {
      if (!isOptionalString(value)) return undefined;
      state[key] = value;
    } else if (key === 'state_details') {
      if (!isPlainObject(value)) return undefined;
      const details = new StateDetailsDto();
      for (const detail of Object.keys(value)) {
        if (detail !== 'scheduled_time') return undefined;
        const time = value.scheduled_time;
        if (time === null) {
          details.scheduled_time = null;
        } else {
          const parsed = typeof time === 'string' ? parseDateTime(time) : null;
          if (!parsed) return undefined;
          details.scheduled_time = parsed;
        }
      }
      state.state_details = details;
    } else {
      return undefined;
    }
  }
  return state;
}

/**
 * `DeploymentFlowRunCreateDto` for the bodies a client usually sends (parameters, a state with a scheduled time,
 * names, tags, keys), built straight from the JSON: the same instance `validateModel` makes of it, at a small
 * fraction of its cost (class-transformer and class-validator take about 100–300 µs per run, which a bulk request
 * of 100 runs pays 100 times). Anything else (another field, a value validation would convert or refuse) is null:
 * the caller validates that item the full way, which also words every error. `flow-run-create-fast-path.spec.ts`
 * holds it equal to `validateModel`.
 */
export function deploymentFlowRunCreateFastPath(raw: unknown): DeploymentFlowRunCreateDto | null {
  if (raw === null || raw === undefined) return new DeploymentFlowRunCreateDto();
  if (!isPlainObject(raw)) return null;
  const dto = new DeploymentFlowRunCreateDto();
  const record = dto as unknown as Plain;
  for (const key of Object.keys(raw)) {
    const value = raw[key];
    if (key === 'parameters') {
      if (!isPlainObject(value) || Buffer.byteLength(JSON.stringify(value)) > MAX_PARAMETER_BYTES) return null;
      const parameters = copyJson(value);
      if (parameters === undefined) return null;
      dto.parameters = parameters as Plain;
    } else if (key === 'state') {
      const state = simpleState(value);
      if (state === undefined) return null;
      dto.state = state;
    } else {
      const accepts = SIMPLE_KEYS.get(key);
      const copy = accepts?.(value) ? copyJson(value) : undefined;
      if (copy === undefined) return null;
      record[key] = copy;
    }
  }
  return dto;
}
