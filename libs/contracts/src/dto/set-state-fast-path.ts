import { parseDateTime } from '../date-time';
import { SetFlowRunStateDto, STATE_TYPES, StateCreateDto, StateDetailsDto } from './state.dto';

type Plain = Record<string, unknown>;

const isPlainObject = (value: unknown): value is Plain =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const STATE_TYPE_SET: ReadonlySet<unknown> = new Set(STATE_TYPES);
/** A canonical UUID (versions 1–5, RFC variant, lower case): what validation accepts and keeps as it is (it lowers upper case). */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Per key of `StateDetails`, its value as validation makes it, or undefined for one to leave to validation. */
const DETAILS = new Map<string, (value: unknown) => unknown>();
const nullOr =
  (accept: (value: unknown) => unknown) =>
  (value: unknown): unknown =>
    value === null ? null : accept(value);
const uuid = nullOr((value) => (typeof value === 'string' && UUID.test(value) ? value : undefined));
const dateTime = nullOr((value) => (typeof value === 'string' ? (parseDateTime(value) ?? undefined) : undefined));
const string = nullOr((value) => (typeof value === 'string' ? value : undefined));
const boolean = (value: unknown): unknown => (typeof value === 'boolean' ? value : undefined);
for (const key of [
  'flow_run_id',
  'task_run_id',
  'child_flow_run_id',
  'transition_id',
  'task_parameters_id',
  'deployment_concurrency_lease_id',
]) {
  DETAILS.set(key, uuid);
}
for (const key of ['scheduled_time', 'cache_expiration', 'pause_timeout']) DETAILS.set(key, dateTime);
for (const key of ['cache_key', 'pause_key', 'traceparent']) DETAILS.set(key, string);
for (const key of ['deferred', 'refresh_cache', 'retriable']) DETAILS.set(key, nullOr(boolean));
// Sent or not, but never null.
for (const key of ['untrackable_result', 'pause_reschedule']) DETAILS.set(key, boolean);
DETAILS.set('run_input_keyset', (value) => (value === null ? null : undefined));

function stateDetails(raw: unknown): StateDetailsDto | undefined {
  if (!isPlainObject(raw)) return undefined;
  const details = new StateDetailsDto();
  const record = details as unknown as Plain;
  for (const key of Object.keys(raw)) {
    const value = DETAILS.get(key)?.(raw[key]);
    if (value === undefined) return undefined;
    record[key] = value;
  }
  return details;
}

function state(raw: unknown): StateCreateDto | undefined {
  if (!isPlainObject(raw) || !STATE_TYPE_SET.has(raw.type)) return undefined;
  const created = new StateCreateDto();
  for (const key of Object.keys(raw)) {
    const value = raw[key];
    if (key === 'type') {
      created.type = value as StateCreateDto['type'];
    } else if (key === 'name' || key === 'message') {
      if (value !== null && typeof value !== 'string') return undefined;
      created[key] = value;
    } else if (key === 'data') {
      if (value !== null) return undefined;
      created.data = null;
    } else if (key === 'state_details') {
      const details = stateDetails(value);
      if (!details) return undefined;
      created.state_details = details;
    } else {
      return undefined;
    }
  }
  return created;
}

/**
 * `SetFlowRunStateDto` for the bodies clients send to `set_state` (a state with its details as Prefect's client
 * serialises them, `force` true or false), built straight from the JSON: the same instance `validateModel` makes of
 * it, without class-transformer and class-validator (about 100–250 µs a call, on the path of every claim). Anything
 * else is null: the caller validates the body the full way, which also words every error.
 * `set-state-fast-path.spec.ts` holds it equal to `validateModel`.
 */
export function setFlowRunStateFastPath(raw: unknown): SetFlowRunStateDto | null {
  if (!isPlainObject(raw)) return null;
  const dto = new SetFlowRunStateDto();
  for (const key of Object.keys(raw)) {
    const value = raw[key];
    if (key === 'state') {
      const created = state(value);
      if (!created) return null;
      dto.state = created;
    } else if (key === 'force') {
      if (typeof value !== 'boolean') return null;
      dto.force = value;
    } else {
      return null;
    }
  }
  return dto.state ? dto : null;
}

/** Request models with a fast path: the validation pipe tries it first (null: it validates the full way). */
export const BODY_FAST_PATHS: ReadonlyMap<unknown, (raw: unknown) => object | null> = new Map([
  [SetFlowRunStateDto, setFlowRunStateFastPath],
]);
