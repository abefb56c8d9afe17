import 'reflect-metadata';
import { ClassConstructor, plainToInstance } from 'class-transformer';
import { getMetadataStorage, validateSync, ValidationError } from 'class-validator';
import { applyLaxInput } from './lax-input';
import { PydanticErrorDetail, toPydanticErrors } from './validation';

const FORBID_EXTRA = Symbol('forbidExtra');
const EMBEDDED_BODY = Symbol('embeddedBody');

/**
 * A request body sent with a content type FastAPI does not read as JSON (`text/plain`, a form, ...): FastAPI
 * hands such a body to validation as its raw text, never parsing it.
 */
export class NonJsonBody {
  constructor(readonly text: string) {}
}

/** The body as the client sent it, for a 422's `input` and `request_body`: a non-JSON body is its text. */
export function bodyAsSent(body: unknown): unknown {
  return body instanceof NonJsonBody ? body.text : (body ?? null);
}

/**
 * Marks a request model whose fields are separate `Body(embed=True)` parameters in Prefect's route (a poll, a
 * filter, `set_state`) rather than one pydantic model. FastAPI reads such fields out of a JSON object only: a
 * body that is not one leaves every field at its default (a required one is reported missing).
 */
export function EmbeddedBody(): ClassDecorator {
  return (target) => {
    Reflect.defineMetadata(EMBEDDED_BODY, true, target);
  };
}

/** Whether a request model is made of embedded body fields ({@link EmbeddedBody}, inherited). */
export function isEmbeddedBody(cls: abstract new (...args: never[]) => unknown): boolean {
  return Reflect.getMetadata(EMBEDDED_BODY, cls) === true;
}

/** Marks a request model that rejects unknown keys (Prefect's `extra="forbid"` action models). Others drop them. */
export function ForbidExtra(): ClassDecorator {
  return (target) => {
    Reflect.defineMetadata(FORBID_EXTRA, true, target);
  };
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
  applyLaxInput(instance);
  const validationErrors: ValidationError[] = validateSync(instance, { forbidUnknownValues: false });
  const errors = toPydanticErrors(validationErrors, loc, input);
  if (isEmbeddedBody(cls)) {
    // FastAPI checks embedded fields one by one and reports a missing one without an input.
    for (const error of errors) if (error.type === 'missing' && error.loc.length === loc.length + 1) error.input = null;
  }
  if (errors.length === 0) checkExtraKeys(instance, loc, input, errors);
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: instance };
}
