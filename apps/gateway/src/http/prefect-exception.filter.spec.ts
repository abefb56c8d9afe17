import { badRequest, integrityConflict } from '@app/domain';
import { ArgumentsHost, Logger } from '@nestjs/common';
import { QueryFailedError } from 'typeorm';
import { PrefectExceptionFilter } from './prefect-exception.filter';

const INTEGRITY_DETAIL =
  'Data integrity conflict. This usually means a unique or foreign key constraint was violated. See server logs for details.';

/** Runs the filter on `exception` and returns the reply it sent. */
function render(exception: unknown): { status: number; body: unknown } {
  const sent = { status: 0, body: undefined as unknown };
  const reply = {
    status(code: number) {
      sent.status = code;
      return reply;
    },
    send(body: unknown) {
      sent.body = body;
      return reply;
    },
  };
  const host = { getType: () => 'http', switchToHttp: () => ({ getResponse: () => reply, getRequest: () => ({ id: 'req-1', body: {} }) }) };
  new PrefectExceptionFilter().catch(exception, host as unknown as ArgumentsHost);
  return sent;
}

const queryFailed = (code: string) =>
  new QueryFailedError('INSERT INTO "flow" ...', [], Object.assign(new Error(`violation ${code}`), { code }));

describe('PrefectExceptionFilter', () => {
  beforeAll(() => {
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });
  afterAll(() => jest.restoreAllMocks());

  it.each([
    ['a unique violation', '23505'],
    ['a foreign-key violation', '23503'],
    ['a not-null violation', '23502'],
    ['a check violation', '23514'],
  ])('answers %s as Prefect answers an IntegrityError: 409 with its detail', (_case, code) => {
    expect(render(queryFailed(code))).toEqual({ status: 409, body: { detail: INTEGRITY_DETAIL } });
  });

  it('renders integrityConflict() with the same body', () => {
    expect(render(integrityConflict())).toEqual({ status: 409, body: { detail: INTEGRITY_DETAIL } });
  });

  it.each([
    ['a failed query outside the integrity class', queryFailed('22P02')],
    ['a failed query without a code', new QueryFailedError('SELECT 1', [], new Error('boom'))],
    ['any other error', new Error('boom')],
  ])('keeps %s a 500', (_case, exception) => {
    expect(render(exception)).toEqual({ status: 500, body: { exception_message: 'Internal Server Error' } });
  });

  it('answers badRequest() with 400 {"detail"}', () => {
    expect(render(badRequest('Flow run state is required'))).toEqual({ status: 400, body: { detail: 'Flow run state is required' } });
  });
});
