import { ValidationError } from 'class-validator';

/** One entry of a pydantic-style validation error list, as Prefect returns it. */
export interface PydanticErrorDetail {
  type: string;
  loc: (string | number)[];
  msg: string;
  input: unknown;
  ctx?: Record<string, unknown>;
}

/** Maps a class-validator constraint name to pydantic's error type and message. */
const CONSTRAINTS: Record<string, { type: string; msg: string }> = {
  isDefined: { type: 'missing', msg: 'Field required' },
  whitelistValidation: { type: 'extra_forbidden', msg: 'Extra inputs are not permitted' },
  isString: { type: 'string_type', msg: 'Input should be a valid string' },
  isNotEmpty: { type: 'string_too_short', msg: 'String should have at least 1 character' },
  isInt: { type: 'int_type', msg: 'Input should be a valid integer' },
  isNumber: { type: 'float_type', msg: 'Input should be a valid number' },
  min: { type: 'greater_than_equal', msg: 'Input should be greater than or equal to the minimum' },
  max: { type: 'less_than_equal', msg: 'Input should be less than or equal to the maximum' },
  isBoolean: { type: 'bool_type', msg: 'Input should be a valid boolean' },
  isUuid: { type: 'uuid_parsing', msg: 'Input should be a valid UUID' },
  isObject: { type: 'dict_type', msg: 'Input should be a valid dictionary' },
  isArray: { type: 'list_type', msg: 'Input should be a valid list' },
  isDateTime: { type: 'datetime_from_date_parsing', msg: 'Input should be a valid datetime' },
  nestedValidation: { type: 'model_type', msg: 'Input should be a valid dictionary or instance of the model' },
  isIn: { type: 'enum', msg: 'Input should be one of the allowed values' },
  isEnum: { type: 'enum', msg: 'Input should be one of the allowed values' },
};

/** Flattens class-validator errors into pydantic's list shape, `loc` rooted at `root` ("body", "path", ...). */
export function toPydanticErrors(errors: ValidationError[], root: (string | number)[] = ['body']): PydanticErrorDetail[] {
  const details: PydanticErrorDetail[] = [];
  const visit = (error: ValidationError, path: (string | number)[]): void => {
    const key = /^\d+$/.test(error.property) ? Number(error.property) : error.property;
    const loc = [...path, key];
    const constraints = error.constraints ?? {};
    // A missing value fails every constraint; pydantic reports only that it is missing.
    const names = 'isDefined' in constraints ? ['isDefined'] : Object.keys(constraints);
    for (const name of names) {
      const known = CONSTRAINTS[name];
      details.push({
        type: known?.type ?? 'value_error',
        loc,
        msg: known && name !== 'isIn' && name !== 'isEnum' ? known.msg : constraints[name],
        input: error.value,
      });
    }
    for (const child of error.children ?? []) visit(child, loc);
  };
  for (const error of errors) visit(error, root);
  return details;
}
