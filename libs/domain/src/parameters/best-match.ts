import type { ErrorObject } from 'ajv';
import { pythonRepr, pythonString } from '../python-repr';

/**
 * One validation error as Python's `jsonschema` would raise it: its keyword, message, the instance path relative
 * to its parent error, and, for `anyOf`/`oneOf`, the errors of their branches (`context`).
 */
export interface SchemaError {
  keyword: string;
  message: string;
  /** Absolute path of the failing value in the validated document. */
  path: (string | number)[];
  /** Path relative to the parent error (what `jsonschema` ranks context errors by). */
  relativePath: (string | number)[];
  /** The value that failed and the schema object holding the failing keyword. */
  instance: unknown;
  schema: Record<string, unknown>;
  context: SchemaError[];
}

const WEAK = new Set(['anyOf', 'oneOf']);

/** JSON pointer segments, array indexes as numbers (read off the validated document). */
function pathOf(pointer: string, document: unknown): (string | number)[] {
  if (pointer === '') return [];
  const path: (string | number)[] = [];
  let current = document;
  for (const raw of pointer.slice(1).split('/')) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(current)) {
      path.push(Number(segment));
      current = current[Number(segment)];
    } else {
      path.push(segment);
      current = (current as Record<string, unknown> | undefined)?.[segment];
    }
  }
  return path;
}

/** `jsonschema`'s type checker (draft 2020-12): booleans are neither integers nor numbers. */
function isType(instance: unknown, type: unknown): boolean {
  switch (type) {
    case 'null':
      return instance === null;
    case 'boolean':
      return typeof instance === 'boolean';
    case 'integer':
      return typeof instance === 'number' && Number.isInteger(instance);
    case 'number':
      return typeof instance === 'number';
    case 'string':
      return typeof instance === 'string';
    case 'array':
      return Array.isArray(instance);
    case 'object':
      return typeof instance === 'object' && instance !== null && !Array.isArray(instance);
    default:
      return false;
  }
}

const reprList = (values: unknown[]) => values.map(pythonRepr).join(', ');

/** `jsonschema`'s message for a failed keyword (its `_keywords.py`), else ajv's. */
function messageOf(error: ErrorObject, instance: unknown, extras: string[]): string {
  const r = pythonRepr(instance);
  const params = error.params as Record<string, unknown>;
  const value = error.schema;
  switch (error.keyword) {
    case 'type':
      return `${r} is not of type ${reprList(Array.isArray(value) ? value : [value])}`;
    case 'required':
      return `${pythonString(String(params.missingProperty))} is a required property`;
    case 'enum':
      return `${r} is not one of ${pythonRepr(value)}`;
    case 'const':
      return `${pythonRepr(value)} was expected`;
    case 'minimum':
      return `${r} is less than the minimum of ${pythonRepr(value)}`;
    case 'maximum':
      return `${r} is greater than the maximum of ${pythonRepr(value)}`;
    case 'exclusiveMinimum':
      return `${r} is less than or equal to the minimum of ${pythonRepr(value)}`;
    case 'exclusiveMaximum':
      return `${r} is greater than or equal to the maximum of ${pythonRepr(value)}`;
    case 'multipleOf':
      return `${r} is not a multiple of ${pythonRepr(value)}`;
    case 'minLength':
    case 'minItems':
      return `${r} ${value === 1 ? 'should be non-empty' : 'is too short'}`;
    case 'maxLength':
    case 'maxItems':
      return `${r} ${value === 0 ? 'is expected to be empty' : 'is too long'}`;
    case 'minProperties':
      return `${r} ${value === 1 ? 'should be non-empty' : 'does not have enough properties'}`;
    case 'maxProperties':
      return `${r} ${value === 0 ? 'is expected to be empty' : 'has too many properties'}`;
    case 'uniqueItems':
      return `${r} has non-unique elements`;
    case 'pattern':
      return `${r} does not match ${pythonRepr(value)}`;
    case 'additionalProperties': {
      const sorted = [...extras].sort();
      return `Additional properties are not allowed (${sorted.map(pythonString).join(', ')} ${sorted.length === 1 ? 'was' : 'were'} unexpected)`;
    }
    case 'anyOf':
      return `${r} is not valid under any of the given schemas`;
    case 'oneOf': {
      const passing = params.passingSchemas as number[] | null;
      if (!passing) return `${r} is not valid under any of the given schemas`;
      // Python lists the later valid branches, then the first one (ajv names the first two).
      const [first, ...more] = passing;
      const branches = [...more, first].map((index) => (value as unknown[])[index]);
      return `${r} is valid under each of ${reprList(branches)}`;
    }
    case 'not':
      return `${r} should not be valid under ${pythonRepr(value)}`;
    case 'false schema':
      return `False schema does not allow ${r}`;
    case 'dependentRequired':
      return `${pythonString(String(params.missingProperty))} is a dependency of ${pythonString(String(params.property))}`;
    default:
      return error.message ?? `${r} is invalid`;
  }
}

/** Whether `error` was raised while validating `parent`'s branches (ajv lists branch errors just before it). */
function belongsTo(error: ErrorObject, parent: ErrorObject): boolean {
  const below = error.instancePath === parent.instancePath || error.instancePath.startsWith(`${parent.instancePath}/`);
  if (!below) return false;
  if (error.schemaPath.startsWith(`${parent.schemaPath}/`)) return true;
  // Errors reached through a $ref carry the referenced schema's path; a sibling keyword of the same schema object
  // carries the parent schema's path.
  const parentSchema = parent.schemaPath.slice(0, parent.schemaPath.lastIndexOf('/'));
  return !error.schemaPath.startsWith(`${parentSchema}/`);
}

/**
 * Rebuilds `jsonschema`'s error tree from ajv's flat list (`allErrors`, `verbose`): one `additionalProperties`
 * error per schema listing every extra property, branch errors as the `context` of their `anyOf`/`oneOf`, and no
 * `if` errors (Python reports the `then`/`else` errors alone).
 */
export function schemaErrors(errors: readonly ErrorObject[], document: unknown): SchemaError[] {
  type Node = { raw: ErrorObject; node: SchemaError };
  const pending: Node[] = [];
  const extras = new Map<string, SchemaError & { extras: string[] }>();
  for (const raw of errors) {
    if (raw.keyword === 'if') continue;
    const path = pathOf(raw.instancePath, document);
    if (raw.keyword === 'additionalProperties') {
      const key = `${raw.instancePath}\u0000${raw.schemaPath}`;
      const extra = String((raw.params as { additionalProperty: string }).additionalProperty);
      const existing = extras.get(key);
      if (existing) {
        existing.extras.push(extra);
        existing.message = messageOf(raw, raw.data, existing.extras);
        continue;
      }
    }
    let context: SchemaError[] = [];
    if (WEAK.has(raw.keyword)) {
      let start = pending.length;
      while (start > 0 && belongsTo(pending[start - 1].raw, raw)) start--;
      context = pending.splice(start).map(({ node }) => node);
      for (const child of context) rebase(child, path.length);
    }
    const node: SchemaError = {
      keyword: raw.keyword,
      message: '',
      path,
      relativePath: path,
      instance: raw.data,
      schema: raw.parentSchema ?? {},
      context,
    };
    if (raw.keyword === 'additionalProperties') {
      const withExtras = Object.assign(node, {
        extras: [String((raw.params as { additionalProperty: string }).additionalProperty)],
      });
      extras.set(`${raw.instancePath}\u0000${raw.schemaPath}`, withExtras);
      node.message = messageOf(raw, raw.data, withExtras.extras);
    } else {
      node.message = messageOf(raw, raw.data, []);
    }
    pending.push({ raw, node });
  }
  return pending.map(({ node }) => node);
}

/** Context errors are ranked by their path below the error that holds them. */
function rebase(error: SchemaError, depth: number): void {
  error.relativePath = error.path.slice(depth);
}

function comparePaths(a: (string | number)[], b: (string | number)[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const [x, y] = [a[i], b[i]];
    if (x === y) continue;
    if (typeof x !== typeof y) return typeof x === 'number' ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

function matchesType(error: SchemaError): boolean {
  const expected = error.schema.type;
  if (expected === undefined) return false;
  return (Array.isArray(expected) ? expected : [expected]).some((type) => isType(error.instance, type));
}

/** `jsonschema.exceptions.relevance`, as a comparison: shallower, later sibling, strong keyword, type mismatch. */
function compareRelevance(a: SchemaError, b: SchemaError): number {
  const keys = (error: SchemaError): number[] => [
    -error.relativePath.length,
    0,
    WEAK.has(error.keyword) ? 0 : 1,
    matchesType(error) ? 0 : 1,
  ];
  const [ka, kb] = [keys(a), keys(b)];
  if (ka[0] !== kb[0]) return ka[0] - kb[0];
  const byPath = comparePaths(a.relativePath, b.relativePath);
  if (byPath !== 0) return byPath;
  for (let i = 2; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i] - kb[i];
  return 0;
}

/**
 * `jsonschema.exceptions.best_match`: the most relevant error (the first of equals), then, through `anyOf`/`oneOf`,
 * the least relevant of their branch errors, unless the two least relevant tie.
 */
export function bestMatch(errors: readonly SchemaError[]): SchemaError | null {
  let best: SchemaError | null = null;
  for (const error of errors) if (!best || compareRelevance(error, best) > 0) best = error;
  while (best && best.context.length > 0) {
    const sorted = [...best.context].sort(compareRelevance);
    if (sorted.length >= 2 && compareRelevance(sorted[0], sorted[1]) === 0) return best;
    best = sorted[0];
  }
  return best;
}

const JSON_PATH_PROPERTY = /^[a-zA-Z][a-zA-Z0-9_]*$/;

/** `ValidationError.json_path`: `$`, then `.name`, `['odd name']` or `[index]` per step. */
export function jsonPath(path: readonly (string | number)[]): string {
  let out = '$';
  for (const step of path) {
    if (typeof step === 'number') out += `[${step}]`;
    else if (JSON_PATH_PROPERTY.test(step)) out += `.${step}`;
    else out += `['${step.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}']`;
  }
  return out;
}

/** Prefect's wording of a failed validation (`prefect.utilities.schema_tools.validation.validate`). */
export function prefectValidationMessage(error: SchemaError): string {
  const path = jsonPath(error.path);
  const where =
    path === '$' ? 'Validation failed.' : `Validation failed for field ${pythonString(path.split('$.').join(''))}.`;
  return `${where} Failure reason: ${error.message}`;
}
