import { Transform, Type, TypeHelpOptions } from 'class-transformer';
import {
  IsInt,
  IsOptional,
  registerDecorator,
  ValidateIf,
  ValidateNested,
  ValidationArguments,
  ValidationOptions,
} from 'class-validator';
import { parseDateTime } from '../date-time';

/** Applies several property decorators as one. */
export function compose(...decorators: PropertyDecorator[]): PropertyDecorator {
  return (target, propertyKey) => decorators.forEach((decorate) => decorate(target, propertyKey));
}

/**
 * A validation rule: `validate` decides, the failure is reported under `name` (the key validation.ts maps to
 * pydantic's error type). `constraints` are the rule's arguments, readable by validation.ts (bounds, model).
 */
export function rule(
  name: string,
  validate: (value: unknown, args: ValidationArguments) => boolean,
  { constraints, ...options }: ValidationOptions & { constraints?: unknown[] } = {},
): PropertyDecorator {
  return (target, propertyKey) =>
    registerDecorator({
      name,
      target: target.constructor,
      propertyName: propertyKey as string,
      constraints,
      options,
      validator: { validate },
    });
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** pydantic's message for a value outside an enum: "Input should be 'A', 'B' or 'C'". */
export function enumMessage(values: readonly string[]): string {
  const quoted = values.map((v) => `'${v}'`);
  return `Input should be ${quoted.slice(0, -1).join(', ')} or ${quoted[quoted.length - 1]}`;
}

/**
 * A field that may be left out but, when sent, must pass its validators: pydantic refuses an explicit `null` for
 * a non-optional field, where class-validator's `@IsOptional()` would let it through. Services tell "absent"
 * (`undefined`) from "sent as null" (Prefect applies updates with `exclude_unset=True`).
 */
export function WhenSent(): PropertyDecorator {
  return ValidateIf((_object: object, value: unknown) => value !== undefined);
}

/** Characters Prefect bans from object names (`prefect._internal.schemas.validators.BANNED_CHARACTERS`). */
export const BANNED_NAME_CHARACTERS = ['/', '%', '&', '>', '<'];

/** The pattern of Prefect's `Name` (`WITHOUT_BANNED_CHARACTERS`), reported in a refusal's `ctx.pattern`. */
export const PREFECT_NAME_PATTERN = `^[^${BANNED_NAME_CHARACTERS.join('')}]+$`;

/** A Prefect `Name`: a string without the banned characters. */
export function IsPrefectName(options?: ValidationOptions): PropertyDecorator {
  return rule(
    'isPrefectName',
    // A non-string is reported once, by `IsString`, as pydantic does.
    (value) => typeof value !== 'string' || !BANNED_NAME_CHARACTERS.some((c) => value.includes(c)),
    {
      message: `Name contains an invalid character ${JSON.stringify(BANNED_NAME_CHARACTERS)}.`,
      constraints: [PREFECT_NAME_PATTERN],
      ...options,
    },
  );
}

/**
 * A list of `min` to `max` items (pydantic's `min_length` / `max_length` on a list). Anything but a list is left to
 * `IsArray`, which reports it once.
 */
export function ListLength(min: number, max: number): PropertyDecorator {
  return rule('listLength', (value) => !Array.isArray(value) || (value.length >= min && value.length <= max), {
    constraints: [min, max],
  });
}

/** A date-time in any form Prefect accepts; the property holds a `Date` after transformation. */
export function IsDateTime(options?: ValidationOptions): PropertyDecorator {
  return compose(
    Transform(({ value }: { value: unknown }) =>
      value === null || value === undefined ? value : (parseDateTime(value) ?? value),
    ),
    rule('isDateTime', (value) => value instanceof Date, { message: 'Input should be a valid datetime', ...options }),
  );
}

/** A JSON object (not an array, not null). */
export function IsJsonObject(options?: ValidationOptions): PropertyDecorator {
  return rule('isObject', isPlainObject, { message: 'Input should be a valid dictionary', ...options });
}

/** Prefect's `KeyValueLabels`: an object whose values are booleans, numbers or strings. */
export function IsLabels(options?: ValidationOptions): PropertyDecorator {
  return rule(
    'isLabels',
    (value) =>
      isPlainObject(value) && Object.values(value).every((v) => ['boolean', 'number', 'string'].includes(typeof v)),
    { message: 'Labels must be an object of boolean, number or string values', ...options },
  );
}

/** Prefect's `server.api.max_parameter_size` default: the serialised size limit of run parameters. */
export const MAX_PARAMETER_BYTES = 524_288;

/** Prefect's `SizedParameters`: parameters whose compact JSON form stays within {@link MAX_PARAMETER_BYTES}. */
export function IsSizedParameters(): PropertyDecorator {
  const size = (value: unknown): number => Buffer.byteLength(JSON.stringify(value));
  // Only sizes objects: a non-object is reported once, by `IsJsonObject`.
  return rule(
    'parameterSize',
    (value) => typeof value !== 'object' || value === null || size(value) <= MAX_PARAMETER_BYTES,
    {
      message: ({ value }: ValidationArguments) =>
        `Value error, Flow run parameters must be less than ${MAX_PARAMETER_BYTES.toLocaleString('en-US')} bytes when serialized (got ${size(value).toLocaleString('en-US')} bytes).`,
    },
  );
}

/** pydantic's exclusive lower bound (`gt=`). */
export function IsGreaterThan(bound: number): PropertyDecorator {
  return rule('isGreaterThan', (value) => typeof value === 'number' && value > bound, { constraints: [bound] });
}

/** The range of a Postgres `integer` column, which every integer of a request must fit. */
export const INT32_MIN = -2_147_483_648;
export const INT32_MAX = 2_147_483_647;

// Bounds check numbers only, so that a value of the wrong type is reported once (as pydantic does).
const AtLeast = (min: number) =>
  rule('min', (value) => typeof value !== 'number' || value >= min, { constraints: [min] });
const AtMost = (max: number) =>
  rule('max', (value) => typeof value !== 'number' || value <= max, { constraints: [max] });

/**
 * An integer of a request: pydantic's `int`, bounded to what the column it goes to holds (Prefect's own server
 * fails in the database on a larger one).
 */
export const IsInt32 = ({ min = INT32_MIN }: { min?: number } = {}): PropertyDecorator =>
  compose(IsInt(), AtLeast(min), AtMost(INT32_MAX));

/** Prefect's `NonNegativeInteger` (`ge=0`). */
export const IsNonNegativeInteger = (): PropertyDecorator => IsInt32({ min: 0 });

/** Prefect's `PositiveInteger` (`gt=0`). */
export const IsPositiveInteger = (): PropertyDecorator => compose(IsInt(), IsGreaterThan(0), AtMost(INT32_MAX));

type ModelClass = new () => object;

/**
 * A nested model (or, with a function of the surrounding object, one of a union told apart by its keys). Anything
 * but a JSON object is refused under the model's Prefect name (ours without `Dto`); validation.ts reports that
 * as pydantic's `model_type`. The rule must not be named "nestedValidation": class-validator would take it for
 * a second nested validation and skip it.
 */
export function IsNestedModel(model: (options?: TypeHelpOptions) => ModelClass): PropertyDecorator {
  const prefectName = () => model().name.replace(/Dto$/, '');
  return compose(rule('isNestedModel', isPlainObject, { constraints: [prefectName] }), ValidateNested(), Type(model));
}

/**
 * FastAPI substitutes an embedded body field's default for an explicit `null`; the stock client relies on it
 * (`read_deployments` sends `"sort": null`).
 */
export function NullMeansDefault(defaultValue: unknown): PropertyDecorator {
  return Transform(({ value }: { value: unknown }) => value ?? defaultValue);
}

/**
 * The `offset` of a filter body (`Body(0, ge=0)`). FastAPI reads an explicit null in an embedded body as an
 * absent field, and stock clients do send `"offset": null`. SQL's OFFSET takes a bigint; past JavaScript's safe
 * integers a number is not even exact, so larger ones (`1e308`) are refused.
 */
export const Offset = (): PropertyDecorator =>
  compose(NullMeansDefault(0), IsInt(), AtLeast(0), AtMost(Number.MAX_SAFE_INTEGER));

/**
 * The `limit` of a filter body: optional here, resolved against the configured default by the service, which
 * refuses one above it as Prefect does.
 */
export const Limit = (): PropertyDecorator => compose(IsOptional(), IsInt());
