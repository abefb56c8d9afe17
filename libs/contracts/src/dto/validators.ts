import { Transform, Type } from 'class-transformer';
import { IsInt, Min, registerDecorator, ValidateNested, ValidationOptions } from 'class-validator';
import { parseDateTime } from '../date-time';

/** Characters Prefect bans from object names (`prefect._internal.schemas.validators.BANNED_CHARACTERS`). */
export const BANNED_NAME_CHARACTERS = ['/', '%', '&', '>', '<'];

/** A Prefect `Name`: a string without the banned characters. */
export function IsPrefectName(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyKey) =>
    registerDecorator({
      name: 'isPrefectName',
      target: target.constructor,
      propertyName: propertyKey as string,
      options: {
        message: `Name contains an invalid character ${JSON.stringify(BANNED_NAME_CHARACTERS)}.`,
        ...options,
      },
      validator: {
        validate: (value: unknown) =>
          typeof value === 'string' && !BANNED_NAME_CHARACTERS.some((c) => value.includes(c)),
      },
    });
}

/** A date-time in any form Prefect accepts; the property holds a `Date` after transformation. */
export function IsDateTime(options?: ValidationOptions): PropertyDecorator {
  const transform = Transform(({ value }: { value: unknown }) => (value === null || value === undefined ? value : (parseDateTime(value) ?? value)));
  return (target, propertyKey) => {
    transform(target, propertyKey);
    registerDecorator({
      name: 'isDateTime',
      target: target.constructor,
      propertyName: propertyKey as string,
      options: { message: 'Input should be a valid datetime', ...options },
      validator: { validate: (value: unknown) => value instanceof Date },
    });
  };
}

/** A JSON object (not an array, not null). */
export function IsJsonObject(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyKey) =>
    registerDecorator({
      name: 'isObject',
      target: target.constructor,
      propertyName: propertyKey as string,
      options: { message: 'Input should be a valid dictionary', ...options },
      validator: { validate: (value: unknown) => typeof value === 'object' && value !== null && !Array.isArray(value) },
    });
}

/** Prefect's `KeyValueLabels`: an object whose values are booleans, numbers or strings. */
export function IsLabels(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyKey) =>
    registerDecorator({
      name: 'isLabels',
      target: target.constructor,
      propertyName: propertyKey as string,
      options: { message: 'Labels must be an object of boolean, number or string values', ...options },
      validator: {
        validate: (value: unknown) =>
          typeof value === 'object' && value !== null && !Array.isArray(value) &&
          Object.values(value).every((v) => ['boolean', 'number', 'string'].includes(typeof v)),
      },
    });
}

/**
 * A nested model. class-transformer maps a list element-wise onto the model and ValidateNested then checks each
 * element, so a list is refused here (other non-objects are refused by ValidateNested). The check must not be
 * named "nestedValidation": class-validator would take it for a second nested validation and skip it.
 */
export function IsNestedModel(model: () => new () => object): PropertyDecorator {
  return (target, propertyKey) => {
    registerDecorator({
      name: 'isObject',
      target: target.constructor,
      propertyName: propertyKey as string,
      options: { message: 'Input should be a valid dictionary' },
      validator: { validate: (value: unknown) => !Array.isArray(value) },
    });
    ValidateNested()(target, propertyKey);
    Type(model)(target, propertyKey);
  };
}

/**
 * The `offset` of a filter body (`Body(0, ge=0)`). FastAPI reads an explicit null in an embedded body as an
 * absent field, and stock clients do send `"offset": null`.
 */
export function Offset(): PropertyDecorator {
  return (target, propertyKey) => {
    NullMeansDefault(0)(target, propertyKey);
    IsInt()(target, propertyKey);
    Min(0)(target, propertyKey);
  };
}

/**
 * FastAPI substitutes an embedded body field's default for an explicit `null`; the stock client relies on it
 * (`read_deployments` sends `"sort": null`).
 */
export function NullMeansDefault(defaultValue: unknown): PropertyDecorator {
  return Transform(({ value }: { value: unknown }) => value ?? defaultValue);
}
