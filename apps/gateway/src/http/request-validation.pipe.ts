import { BODY_FAST_PATHS, bodyAsSent, isEmbeddedBody, NonJsonBody, validateModel } from '@app/contracts';
import { validationFailed } from '@app/domain';
import { ArgumentMetadata, Injectable, PipeTransform } from '@nestjs/common';
import type { ClassConstructor } from 'class-transformer';

const PRIMITIVES: unknown[] = [String, Boolean, Number, Array, Object];

/**
 * Validates every `@Body()` whose type is a request model, with pydantic's error shape. Bodies typed as a
 * plain object must be a JSON object; other parameters pass through (path parameters have their own pipes).
 */
@Injectable()
export class RequestValidationPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    if (metadata.type !== 'body') return value;
    const { metatype } = metadata;
    if (metatype === Object) {
      if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof NonJsonBody) {
        throw validationFailed([
          { type: 'dict_type', loc: ['body'], msg: 'Input should be a valid dictionary', input: bodyAsSent(value) },
        ]);
      }
      return value;
    }
    if (!metatype || PRIMITIVES.includes(metatype)) return value;
    if (value instanceof NonJsonBody) {
      if (!isEmbeddedBody(metatype)) {
        throw validationFailed(
          [
            {
              type: 'model_attributes_type',
              loc: ['body'],
              msg: 'Input should be a valid dictionary or object to extract fields from',
              input: value.text,
            },
          ],
          value.text,
        );
      }
    }
    if (value === undefined && !isEmbeddedBody(metatype)) {
      // FastAPI's answer when the one model a route takes as its body was not sent at all.
      throw validationFailed([{ type: 'missing', loc: ['body'], msg: 'Field required', input: null }], null);
    }
    const body = value instanceof NonJsonBody ? undefined : value;
    // A body of the common shape of a hot route (every claim is a set_state) skips class-transformer and
    // class-validator, for the same instance.
    const fast = BODY_FAST_PATHS.get(metatype)?.(body);
    if (fast) return fast;
    const result = validateModel(metatype as ClassConstructor<object>, body);
    if (!result.ok) throw validationFailed(result.errors);
    return result.value;
  }
}

/**
 * Validates a JSON array body whose items are one request model (e.g. a list of schedules). `fastPath`, if given,
 * builds the instance of an item of a common shape directly, the same one validation would make (null: validate it).
 */
export class ArrayBodyPipe<T extends object> implements PipeTransform {
  constructor(
    private readonly itemType: ClassConstructor<T>,
    private readonly fastPath?: (item: unknown) => T | null,
  ) {}

  transform(value: unknown): T[] {
    if (value instanceof NonJsonBody) {
      // pydantic's answer for the raw bytes FastAPI passes on for a list.
      const detail = {
        type: 'sequence_str',
        loc: ['body'],
        msg: "'bytes' instances are not allowed as a Sequence value",
        input: value.text,
        ctx: { type_name: 'bytes' },
      };
      throw validationFailed([detail], value.text);
    }
    if (!Array.isArray(value)) {
      throw validationFailed(
        [{ type: 'list_type', loc: ['body'], msg: 'Input should be a valid list', input: bodyAsSent(value) }],
        bodyAsSent(value),
      );
    }
    const items: T[] = [];
    const errors = value.flatMap((item, index) => {
      const fast = this.fastPath?.(item);
      if (fast) {
        items.push(fast);
        return [];
      }
      const result = validateModel(this.itemType, item, ['body', index]);
      if (result.ok) items.push(result.value);
      return result.ok ? [] : result.errors;
    });
    if (errors.length > 0) throw validationFailed(errors);
    return items;
  }
}
