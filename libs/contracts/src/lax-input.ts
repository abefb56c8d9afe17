import { getMetadataStorage } from 'class-validator';
import { parseDateTime } from './date-time';

/*
 * pydantic v2's lax mode, which Prefect's server validates every request with: a JSON value of a neighbouring
 * type is converted when it spells a value of the declared one (https://docs.pydantic.dev/latest/concepts/conversion_table/,
 * JSON column). Prefect's clients and scripts rely on it (`"limit": "10"`, `"force": "yes"`, epoch seconds).
 * Each function returns the converted value, or the input unchanged when pydantic would refuse it: the validator
 * that follows then fails and validation.ts words the failure as pydantic does for that input.
 */

// pydantic's integer strings: optional sign, digits with single underscores between them, surrounding whitespace,
// and a fraction of zeros only ("2.00").
const INT_STRING = /^\s*[+-]?\d+(?:_\d+)*(?:\.0+)?\s*$/;
// Python's float(): digits with underscores, an optional fraction and exponent, or inf/nan (not storable here).
const FLOAT_STRING = /^\s*[+-]?(?:\d+(?:_\d+)*(?:\.(?:\d+(?:_\d+)*)?)?|\.\d+(?:_\d+)*)(?:[eE][+-]?\d+(?:_\d+)*)?\s*$/;
const TRUE_STRINGS = new Set(['1', 'on', 't', 'true', 'y', 'yes']);
const FALSE_STRINGS = new Set(['0', 'off', 'f', 'false', 'n', 'no']);

/** `int`: a boolean is 0 or 1, an integer string its value; a float with no fraction is already a JS integer. */
export function laxInt(value: unknown): unknown {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string' && INT_STRING.test(value)) {
    const parsed = Number(value.replace(/_/g, ''));
    return Number.isSafeInteger(parsed) ? parsed : value;
  }
  return value;
}

/** `float`: a boolean is 0.0 or 1.0, a numeric string its value. */
export function laxFloat(value: unknown): unknown {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string' && FLOAT_STRING.test(value)) return Number(value.replace(/_/g, ''));
  return value;
}

/** `bool`: 0 and 1 (also 0.0 and 1.0), and the strings pydantic reads as booleans, in any case but not padded. */
export function laxBool(value: unknown): unknown {
  if (value === 0 || value === 1) return value === 1;
  if (typeof value === 'string') {
    const lower = value.toLowerCase();
    if (TRUE_STRINGS.has(lower)) return true;
    if (FALSE_STRINGS.has(lower)) return false;
  }
  return value;
}

const HEX = /^[0-9a-f]$/i;
const GROUP_ENDS = [8, 13, 18, 23];
const GROUP_LENGTHS = [8, 4, 4, 4, 12];

/**
 * A UUID string as pydantic (the `uuid` crate) parses it: hyphenated, 32 hex digits, `{...}` or `urn:uuid:...`;
 * `null` when refused. Returns the canonical lowercase hyphenated form.
 */
export function parseUuid(value: string): string | null {
  let body = value;
  if (value.length === 38 && value.startsWith('{') && value.endsWith('}')) body = value.slice(1, -1);
  else if (value.length === 45 && value.startsWith('urn:uuid:')) body = value.slice(9);
  let hex: string;
  if (body.length === 32 && value.length === 32) hex = body;
  else if (body.length === 36 && GROUP_ENDS.every((at) => body[at] === '-')) hex = body.replace(/-/g, '');
  else return null;
  if (hex.length !== 32 || ![...hex].every((c) => HEX.test(c))) return null;
  const h = hex.toLowerCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Why pydantic refuses a UUID string: the `uuid` crate's error text, which pydantic puts in `msg` and `ctx`. */
export function uuidError(value: string): string {
  let body = value;
  let simple = true;
  if (value.startsWith('{') && value.endsWith('}') && value.length > 1) {
    body = value.slice(1, -1);
    simple = false;
  } else if (value.startsWith('urn:uuid:')) {
    body = value.slice(9);
    simple = false;
  }
  const chars = [...body];
  const hyphens: number[] = [];
  for (const [index, char] of chars.entries()) {
    if (char === '-') hyphens.push(index);
    else if (!HEX.test(char)) return `invalid character: found \`${char}\` at ${index + value.indexOf(body)}`;
  }
  if (hyphens.length === 0 && simple) return `invalid length: found ${Buffer.byteLength(value)}`;
  if (hyphens.length !== 4) return `invalid group count: expected 5, found ${hyphens.length + 1}`;
  const bounds = [-1, ...hyphens, chars.length];
  for (let group = 0; group < 5; group++) {
    const length = bounds[group + 1] - bounds[group] - 1;
    if (length !== GROUP_LENGTHS[group]) {
      return `invalid group length in group ${group}: expected ${GROUP_LENGTHS[group]}, found ${length}`;
    }
  }
  return `invalid length: found ${Buffer.byteLength(value)}`;
}

/** `UUID`: a string in any form pydantic parses, made canonical. */
export function laxUuid(value: unknown): unknown {
  return typeof value === 'string' ? (parseUuid(value) ?? value) : value;
}

/** Prefect's `DateTime`: everything {@link parseDateTime} takes (epoch seconds and milliseconds included). */
export function laxDateTime(value: unknown): unknown {
  return value instanceof Date || value === null || value === undefined ? value : (parseDateTime(value) ?? value);
}

/** The class-validator rule names whose values are converted, and how. */
const CONVERSIONS: Record<string, (value: unknown) => unknown> = {
  isInt: laxInt,
  isNumber: laxFloat,
  isBoolean: laxBool,
  isUuid: laxUuid,
  isDateTime: laxDateTime,
};

interface ModelPlan {
  conversions: { property: string; convert: (value: unknown) => unknown; each: boolean }[];
  nested: string[];
}

type ModelClass = abstract new (...args: never[]) => unknown;
const plans = new Map<ModelClass, ModelPlan>();

/** Which properties of a model convert their values, and which hold nested models (read once per class). */
function planOf(cls: ModelClass): ModelPlan {
  let plan = plans.get(cls);
  if (!plan) {
    const metadata = getMetadataStorage().getTargetValidationMetadatas(cls, '', true, false);
    const conversions: ModelPlan['conversions'] = [];
    const nested = new Set<string>();
    for (const { name, propertyName, each, type } of metadata) {
      if (type === 'nestedValidation') nested.add(propertyName);
      const convert = name ? CONVERSIONS[name] : undefined;
      if (convert && !conversions.some((c) => c.property === propertyName && c.convert === convert)) {
        conversions.push({ property: propertyName, convert, each: each === true });
      }
    }
    plan = { conversions, nested: [...nested] };
    plans.set(cls, plan);
  }
  return plan;
}

/**
 * Converts, in place, the values of a freshly transformed request model (and of the models nested in it) that
 * pydantic's lax mode would accept for their declared types. Only the properties that need it are visited.
 */
export function applyLaxInput(instance: unknown): void {
  if (Array.isArray(instance)) {
    for (const item of instance) applyLaxInput(item);
    return;
  }
  if (instance === null || typeof instance !== 'object' || instance.constructor === Object) return;
  const plan = planOf(instance.constructor as ModelClass);
  const record = instance as Record<string, unknown>;
  for (const { property, convert, each } of plan.conversions) {
    const value = record[property];
    if (value === undefined || value === null) continue;
    if (each) {
      if (Array.isArray(value)) record[property] = value.map(convert);
    } else {
      record[property] = convert(value);
    }
  }
  for (const property of plan.nested) applyLaxInput(record[property]);
}
