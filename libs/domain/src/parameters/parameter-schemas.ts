import Ajv2020, { MissingRefError, type ValidateFunction } from 'ajv/dist/2020';
import { bestMatch, prefectValidationMessage, schemaErrors } from './best-match';
import { pythonRepr } from '../python-repr';

type Schema = Record<string, unknown>;

const isObject = (value: unknown): value is Schema =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Prefect's `_fix_null_typing` and `_fix_tuple_items` over a model's properties (pydantic v1 schemas): an optional
 * property without a default also takes null; a tuple's `items` list becomes `prefixItems`.
 */
function processProperties(properties: Schema, required: unknown, allowNoneWithDefault: boolean): void {
  const requiredFields = Array.isArray(required) ? required : [];
  for (const [key, schema] of Object.entries(properties)) {
    if (!isObject(schema)) continue;
    if (
      !requiredFields.includes(key) &&
      'type' in schema &&
      schema.type !== 'null' &&
      (!('default' in schema) || allowNoneWithDefault)
    ) {
      schema.anyOf = [{ type: schema.type }, { type: 'null' }];
      delete schema.type;
    }
    if (Array.isArray(schema.items) && schema.items.length > 0 && !schema.prefixItems) {
      schema.prefixItems = structuredClone(schema.items);
      delete schema.items;
    }
    if (isObject(schema.properties)) processProperties(schema.properties, schema.required, allowNoneWithDefault);
  }
}

/** Prefect's `preprocess_schema`, on a copy. */
export function preprocessSchema(schema: Schema, allowNoneWithDefault = false): Schema {
  const copy = structuredClone(schema);
  if (isObject(copy.properties)) processProperties(copy.properties, copy.required, allowNoneWithDefault);
  if (isObject(copy.definitions)) {
    const definitions = copy.definitions;
    for (const definition of Object.values(definitions)) {
      if (!isObject(definition)) continue;
      if (isObject(definition.properties)) {
        processProperties(definition.properties, definition.required, allowNoneWithDefault);
      }
      // Blocks may also be referenced by their id.
      if ('block_type_slug' in definition) {
        definitions[String(definition.title)] = {
          oneOf: [
            definition,
            {
              type: 'object',
              properties: {
                $ref: {
                  oneOf: [
                    { type: 'string', format: 'uuid' },
                    { type: 'object', additionalProperties: { type: 'string' }, minProperties: 1 },
                  ],
                },
              },
              required: ['$ref'],
            },
          ],
        };
      }
    }
  }
  return copy;
}

/**
 * Prefect's `remove_nested_keys(["required"], schema)`: drops every `required` key of nested objects. Like it, it
 * does not look inside lists, so the branches of an `anyOf` or `allOf` keep theirs.
 */
export function withoutRequired(value: unknown): unknown {
  if (!isObject(value)) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => key !== 'required')
      .map(([key, item]) => [key, withoutRequired(item)]),
  );
}

/** `referencing`'s words for a $ref that leads nowhere (`PointerToNowhere`) or out of the document. */
function unresolvable(ref: string, schema: Schema): string {
  const hash = ref.indexOf('#');
  const pointer = hash >= 0 ? ref.slice(hash + 1) : null;
  if (hash <= 0 && pointer !== null) {
    return `PointerToNowhere: ${pythonRepr(pointer)} does not exist within ${pythonRepr(schema)}`;
  }
  return `Unresolvable: ${ref}`;
}

/** A parameter schema that cannot be used to validate (Prefect answers these with its own errors or a 500). */
export class UnusableSchemaError extends Error {}

export interface ValidateOptions {
  /** Prefect's `preprocess` (its pydantic v1 fixes); off for a deployment being created. */
  preprocess: boolean;
  /** Drop `required` everywhere: a deployment's defaults need not cover every parameter. */
  ignoreRequired: boolean;
}

const CACHE_SIZE = 256;

/**
 * Validates run parameters against a deployment's parameter schema as Prefect 3.9.1 does (JSON Schema draft
 * 2020-12 through Python's `jsonschema`, formats not checked, the best-matching error reported in its words).
 * Compiled validators are kept per schema text, the most recently used {@link CACHE_SIZE}, so that creating many
 * runs of one deployment compiles its schema once.
 */
export class ParameterSchemas {
  private readonly ajv = new Ajv2020({
    strict: false,
    allErrors: true,
    verbose: true,
    validateFormats: false,
    validateSchema: false,
    addUsedSchema: false,
  });
  private readonly metaSchema = new Ajv2020({ strict: false, allErrors: true, verbose: true, validateFormats: false });
  private readonly compiled = new Map<string, ValidateFunction>();
  private readonly sources = new Map<string, Schema>();

  /** Prefect's message for the first (best-matching) violation, or null when `values` conform. */
  validate(values: unknown, schema: Schema, options: ValidateOptions): string | null {
    const validate = this.compile(schema, options);
    if (typeof validate === 'string') return `Validation failed. Failure reason: ${validate}`;
    if (validate(values)) return null;
    const best = bestMatch(schemaErrors(validate.errors ?? [], values));
    return best ? prefectValidationMessage(best) : 'Validation failed.';
  }

  /** Whether `schema` is a valid draft 2020-12 schema; else `jsonschema`'s reason (its `SchemaError.message`). */
  schemaProblem(schema: Schema): string | null {
    if (this.metaSchema.validateSchema(schema)) return null;
    const best = bestMatch(schemaErrors(this.metaSchema.errors ?? [], schema));
    return best?.message ?? 'invalid schema';
  }

  /** The validator of `schema` as `options` adjust it, cached by the schema's text and the options. */
  private compile(schema: Schema, options: ValidateOptions): ValidateFunction | string {
    const key = `${Number(options.preprocess)}${Number(options.ignoreRequired)}${JSON.stringify(schema)}`;
    const cached = this.compiled.get(key);
    if (cached) {
      // Re-inserted: the map's order is the eviction order.
      this.compiled.delete(key);
      this.compiled.set(key, cached);
      return cached;
    }
    let effective = options.preprocess ? preprocessSchema(schema) : schema;
    if (options.ignoreRequired) effective = withoutRequired(effective) as Schema;
    let validate: ValidateFunction;
    try {
      validate = this.ajv.compile(effective);
    } catch (error) {
      // Python's `referencing` fails on such a $ref only when a value reaches it; ajv, for any value.
      if (error instanceof MissingRefError) return unresolvable(error.missingRef, effective);
      throw new UnusableSchemaError((error as Error).message);
    }
    this.compiled.set(key, validate);
    this.sources.set(key, effective);
    if (this.compiled.size > CACHE_SIZE) {
      const [oldest] = this.compiled.keys();
      // ajv keeps its own reference to every schema it compiled.
      this.ajv.removeSchema(this.sources.get(oldest));
      this.compiled.delete(oldest);
      this.sources.delete(oldest);
    }
    return validate;
  }
}
