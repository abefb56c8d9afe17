import 'reflect-metadata';
import { ClassConstructor, plainToInstance } from 'class-transformer';
import { getMetadataStorage, validateSync, ValidationError } from 'class-validator';
import { PydanticErrorDetail, toPydanticErrors } from './validation';

const FORBID_EXTRA = Symbol('forbidExtra');

/** Marks a request model that rejects unknown keys (Prefect's `extra="forbid"` action models). Others drop them. */
export function ForbidExtra(): ClassDecorator {
  return (target) => {
    Reflect.defineMetadata(FORBID_EXTRA, true, target);
  };
}

const BODY_REQUIRED = Symbol('bodyRequired');

/**
 * Marks a request model FastAPI requires as the whole body (a route's only body parameter, with no default):
 * a request without a body is a 422 `missing` at `body`, not the model's defaults.
 */
export function BodyRequired(): ClassDecorator {
  return (target) => {
    Reflect.defineMetadata(BODY_REQUIRED, true, target);
  };
}

export function isBodyRequired(cls: object): boolean {
  return Reflect.getMetadata(BODY_REQUIRED, cls) === true;
}

type ModelClass = abstract new (...args: never[]) => unknown;
const declaredProperties = new Map<ModelClass, Set<string>>();
function propertiesOf(cls: ModelClass): Set<string> {
  let known = declaredProperties.get(cls);
  if (!known) {
    const metadata = getMetadataStorage().getTargetValidationMetadatas(cls, '', true, false);
    known = new Set(metadata.map((m) => m.propertyName));
    declaredProperties.set(cls, known);
  }
  return known;
}

/** Walks the validated instance: reports keys a forbid-extra model does not declare, drops them elsewhere. */
function checkExtraKeys(value: unknown, loc: (string | number)[], raw: unknown, errors: PydanticErrorDetail[]): void {
  if (Array.isArray(value)) {
    value.forEach((item, i) => checkExtraKeys(item, [...loc, i], Array.isArray(raw) ? raw[i] : undefined, errors));
    return;
  }
  if (value === null || typeof value !== 'object' || value.constructor === Object || value instanceof Date) return;
  const cls = value.constructor as ModelClass;
  const known = propertiesOf(cls);
  const forbid = Reflect.getMetadata(FORBID_EXTRA, cls) === true;
  const record = value as Record<string, unknown>;
  const rawRecord = (raw ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (known.has(key)) {
      checkExtraKeys(record[key], [...loc, key], rawRecord[key], errors);
    } else if (forbid) {
      errors.push({
        type: 'extra_forbidden',
        loc: [...loc, key],
        msg: 'Extra inputs are not permitted',
        input: rawRecord[key],
      });
    } else {
      delete record[key];
    }
  }
}

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; errors: PydanticErrorDetail[] };

/** Validates a JSON value against a request model, producing pydantic-shaped errors rooted at `loc`. */
export function validateModel<T extends object>(
  cls: ClassConstructor<T>,
  raw: unknown,
  loc: (string | number)[] = ['body'],
): ValidationResult<T> {
  const input = raw === undefined || raw === null ? {} : raw;
  if (typeof input !== 'object' || Array.isArray(input)) {
    return {
      ok: false,
      errors: [
        {
          type: 'model_attributes_type',
          loc,
          msg: 'Input should be a valid dictionary or object to extract fields from',
          input: raw ?? null,
        },
      ],
    };
  }
  const instance = plainToInstance(cls, input, { exposeDefaultValues: true });
  const validationErrors: ValidationError[] = validateSync(instance, { forbidUnknownValues: false });
  const errors = toPydanticErrors(validationErrors, loc);
  if (errors.length === 0) checkExtraKeys(instance, loc, input, errors);
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: instance };
}
