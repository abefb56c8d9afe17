import { getMetadataStorage, ValidationError } from 'class-validator';
import { uuidError } from './lax-input';

/** One entry of a pydantic-style validation error list, as Prefect returns it. */
export interface PydanticErrorDetail {
  type: string;
  loc: (string | number)[];
  msg: string;
  input: unknown;
  ctx?: Record<string, unknown>;
}

/** A failed class-validator constraint: the arguments it was declared with, the message it produced, the value. */
interface FailedConstraint {
  args: readonly unknown[];
  message: string;
  input: unknown;
}

type PydanticError = Pick<PydanticErrorDetail, 'type' | 'msg' | 'ctx'>;

const fixed = (type: string, msg: string) => (): PydanticError => ({ type, msg });
const enumError = ({ message }: FailedConstraint): PydanticError => ({ type: 'enum', msg: message });

/** Maps a class-validator constraint name to pydantic's error type, message and context. */
const CONSTRAINTS: Record<string, (constraint: FailedConstraint) => PydanticError> = {
  isDefined: fixed('missing', 'Field required'),
  whitelistValidation: fixed('extra_forbidden', 'Extra inputs are not permitted'),
  isString: fixed('string_type', 'Input should be a valid string'),
  isNotEmpty: fixed('string_too_short', 'String should have at least 1 character'),
  maxLength: ({ args: [max] }) => ({
    type: 'string_too_long',
    msg: `String should have at most ${String(max)} characters`,
    ctx: { max_length: max },
  }),
  // The value failed after lax conversion (lax-input.ts), so a string here is one pydantic could not parse either.
  isInt: ({ input }) => {
    if (typeof input === 'string') {
      return { type: 'int_parsing', msg: 'Input should be a valid integer, unable to parse string as an integer' };
    }
    if (typeof input === 'number' && Number.isFinite(input)) {
      return { type: 'int_from_float', msg: 'Input should be a valid integer, got a number with a fractional part' };
    }
    return { type: 'int_type', msg: 'Input should be a valid integer' };
  },
  isNumber: ({ input }) =>
    typeof input === 'string'
      ? { type: 'float_parsing', msg: 'Input should be a valid number, unable to parse string as a number' }
      : { type: 'float_type', msg: 'Input should be a valid number' },
  min: ({ args: [ge] }) => ({
    type: 'greater_than_equal',
    msg: `Input should be greater than or equal to ${String(ge)}`,
    ctx: { ge },
  }),
  max: ({ args: [le] }) => ({
    type: 'less_than_equal',
    msg: `Input should be less than or equal to ${String(le)}`,
    ctx: { le },
  }),
  isGreaterThan: ({ args: [gt] }) => ({
    type: 'greater_than',
    msg: `Input should be greater than ${String(gt)}`,
    ctx: { gt },
  }),
  isBoolean: ({ input }) =>
    typeof input === 'string' || Number.isInteger(input)
      ? { type: 'bool_parsing', msg: 'Input should be a valid boolean, unable to interpret input' }
      : { type: 'bool_type', msg: 'Input should be a valid boolean' },
  isUuid: ({ input }) => {
    if (typeof input !== 'string') {
      return { type: 'uuid_type', msg: 'UUID input should be a string, bytes or UUID object' };
    }
    const error = uuidError(input);
    return { type: 'uuid_parsing', msg: `Input should be a valid UUID, ${error}`, ctx: { error } };
  },
  isObject: fixed('dict_type', 'Input should be a valid dictionary'),
  isArray: fixed('list_type', 'Input should be a valid list'),
  listLength: ({ args: [min, max], input }) => {
    const length = (input as unknown[]).length;
    return length < (min as number)
      ? {
          type: 'too_short',
          msg: `List should have at least ${String(min)} item${min === 1 ? '' : 's'} after validation, not ${length}`,
          ctx: { field_type: 'List', min_length: min, actual_length: length },
        }
      : {
          type: 'too_long',
          msg: `List should have at most ${String(max)} item${max === 1 ? '' : 's'} after validation, not ${length}`,
          ctx: { field_type: 'List', max_length: max, actual_length: length },
        };
  },
  // Prefect's `DateTime` (pendulum's under Python < 3.13) words its own errors; Prefect's JSON encoder turns the
  // exception in `ctx.error` into `{}`.
  isDateTime: ({ input }) =>
    typeof input === 'string'
      ? { type: 'value_error', msg: `Value error, Unable to parse string [${input}]`, ctx: { error: {} } }
      : { type: 'value_error', msg: 'value is not a valid datetime' },
  isPrefectName: ({ args: [pattern] }) => ({
    type: 'string_pattern_mismatch',
    msg: `String should match pattern '${String(pattern)}'`,
    ctx: { pattern },
  }),
  isNestedModel: ({ args: [prefectName] }) => {
    const className = (prefectName as () => string)();
    return {
      type: 'model_type',
      msg: `Input should be a valid dictionary or instance of ${className}`,
      ctx: { class_name: className },
    };
  },
  // class-validator's own check on a nested value that is no object, where IsNestedModel is not used.
  nestedValidation: fixed('model_type', 'Input should be a valid dictionary or instance of the model'),
  // Prefect's `Name` pattern, or the `NonEmptyishName` check that comes before it.
  isObjectName: ({ args: [pattern], message }) =>
    message.startsWith('String should match pattern')
      ? { type: 'string_pattern_mismatch', msg: message, ctx: { pattern } }
      : { type: 'value_error', msg: message, ctx: { error: {} } },
  isIn: enumError,
  isEnum: enumError,
};

type ValidationMetadata = ReturnType<ReturnType<typeof getMetadataStorage>['getTargetValidationMetadatas']>[number];

/** The declaration of the constraint `name` on the property that failed it. */
function declaration(error: ValidationError, name: string): ValidationMetadata | undefined {
  const model = error.target?.constructor;
  if (!model) return undefined;
  return getMetadataStorage()
    .getTargetValidationMetadatas(model, '', true, false)
    .find((metadata) => metadata.propertyName === error.property && metadata.name === name);
}

/** For a list checked item by item (`each: true`), the indexes of the items that fail; null otherwise. */
function failingItems(error: ValidationError, metadata: ValidationMetadata | undefined): number[] | null {
  if (!metadata?.each || !Array.isArray(error.value)) return null;
  const items: unknown[] = error.value;
  const [constraint] = getMetadataStorage().getTargetValidatorConstraints(metadata.constraintCls);
  if (!constraint) return null;
  const args = {
    targetName: metadata.target instanceof Function ? metadata.target.name : String(metadata.target),
    property: error.property,
    object: error.target as object,
    value: error.value,
    constraints: metadata.constraints,
  };
  return items.flatMap((item, index) => (constraint.instance.validate(item, args) ? [] : [index]));
}

/**
 * The failed constraints pydantic would report: a missing value only as missing; a value that is not a list
 * only as such, not also per item; a nested model that is no object only once.
 */
function reportedConstraints(error: ValidationError, constraints: Record<string, string>): string[] {
  if ('isDefined' in constraints) return ['isDefined'];
  return Object.keys(constraints).filter((name) => {
    // A value that is no list is reported once, as such, not also as no model.
    if (name === 'nestedValidation') return !('isNestedModel' in constraints) && !('isArray' in constraints);
    return !('isArray' in constraints && name !== 'isArray' && declaration(error, name)?.each);
  });
}

/** The value at `path` inside a JSON value, `undefined` when there is none. */
function valueAt(json: unknown, path: (string | number)[]): unknown {
  let node = json;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[key];
  }
  return node;
}

/**
 * Flattens class-validator errors into pydantic's list shape, `loc` rooted at `root` ("body", "path", ...).
 * Given the request's `raw` value, each entry's `input` is what the client sent (pydantic reports `"-1"` for a
 * `"-1"` refused by a bound after lax conversion), else the value validated.
 */
export function toPydanticErrors(
  errors: ValidationError[],
  root: (string | number)[] = ['body'],
  raw?: unknown,
): PydanticErrorDetail[] {
  const details: PydanticErrorDetail[] = [];
  const sent = (loc: (string | number)[], validated: unknown): unknown => {
    if (raw === undefined) return validated;
    const value = valueAt(raw, loc.slice(root.length));
    return value === undefined ? validated : value;
  };
  const visit = (error: ValidationError, path: (string | number)[]): void => {
    const key = /^\d+$/.test(error.property) ? Number(error.property) : error.property;
    const loc = [...path, key];
    const constraints = error.constraints ?? {};
    for (const name of reportedConstraints(error, constraints)) {
      const metadata = declaration(error, name);
      const detail = (itemLoc: (string | number)[], validated: unknown): PydanticErrorDetail => {
        // pydantic reports a missing field with the object it is missing from.
        const input = name === 'isDefined' ? sent(itemLoc.slice(0, -1), error.target) : sent(itemLoc, validated);
        const failed: FailedConstraint = { args: metadata?.constraints ?? [], message: constraints[name], input };
        const { type, msg, ctx } = CONSTRAINTS[name]?.(failed) ?? { type: 'value_error', msg: constraints[name] };
        return { type, loc: itemLoc, msg, input, ...(ctx && { ctx }) };
      };
      const items = failingItems(error, metadata);
      if (items && items.length > 0) {
        for (const index of items) details.push(detail([...loc, index], (error.value as unknown[])[index]));
      } else {
        details.push(detail(loc, error.value));
      }
    }
    // A nested model given as a list was mapped item by item; pydantic reports only that it is no object.
    if ('isNestedModel' in constraints) return;
    for (const child of error.children ?? []) visit(child, loc);
  };
  for (const error of errors) visit(error, root);
  return details;
}
