import {
  badRequest,
  DomainError,
  domainErrorResponse,
  integrityConflict,
  objectNotFound,
  serviceUnavailable,
  validationFailed,
} from './errors';

describe('domain errors', () => {
  it('badRequest carries its own code and the message', () => {
    const error = badRequest('no');
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({ code: 'bad_request', message: 'no' });
  });

  it("integrityConflict is a conflict with Prefect's IntegrityError text", () => {
    expect(integrityConflict()).toMatchObject({
      code: 'conflict',
      message:
        'Data integrity conflict. This usually means a unique or foreign key constraint was violated. See server logs for details.',
    });
  });

  describe('domainErrorResponse', () => {
    it.each([
      ['FastAPI detail', badRequest('no'), { status: 400, body: { detail: 'no' } }],
      [
        "Prefect's ObjectNotFoundError handler",
        objectNotFound('gone'),
        { status: 404, body: { exception_message: 'gone' } },
      ],
      ['a retryable outage', serviceUnavailable(), { status: 503, body: { exception_message: 'Service Unavailable' } }],
    ])('answers with %s', (_case, error, expected) => {
      expect(domainErrorResponse(error)).toEqual(expected);
    });

    const detail = { type: 'missing', loc: ['body', 'name'], msg: 'Field required', input: {} };
    it('echoes the request body in a validation error, unless the error carries the raw body', () => {
      expect(domainErrorResponse(validationFailed([detail]), { a: 1 })).toEqual({
        status: 422,
        body: { exception_message: 'Invalid request received.', exception_detail: [detail], request_body: { a: 1 } },
      });
      expect(domainErrorResponse(validationFailed([detail], '{bad'), { a: 1 }).body).toMatchObject({
        request_body: '{bad',
      });
      expect(domainErrorResponse(validationFailed([detail])).body).toMatchObject({ request_body: null });
    });
  });
});
