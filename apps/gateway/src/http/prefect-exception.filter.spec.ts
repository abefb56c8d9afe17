import { badRequest, integrityConflict } from '@app/domain';
import { ArgumentsHost, Logger } from '@nestjs/common';
import { ClosedConnectionError, RequestError, TimeoutError } from '@nats-io/transport-node';
import { QueryFailedError } from 'typeorm';
import { PrefectExceptionFilter } from './prefect-exception.filter';

const INTEGRITY_DETAIL =
  'Data integrity conflict. This usually means a unique or foreign key constraint was violated. See server logs for details.';

/** Runs the filter on `exception` and returns the reply it sent. */
function render(exception: unknown): { status: number; body: unknown; headers: Record<string, string> } {
  const sent = { status: 0, body: undefined as unknown, headers: {} as Record<string, string> };
  const reply = {
    header(name: string, value: string) {
      sent.headers[name] = value;
      return reply;
    },
    status(code: number) {
      sent.status = code;
      return reply;
    },
    send(body: unknown) {
      sent.body = body;
      return reply;
    },
  };
  const host = {
    getType: () => 'http',
    switchToHttp: () => ({ getResponse: () => reply, getRequest: () => ({ id: 'req-1', body: {} }) }),
  };
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
    expect(render(queryFailed(code))).toMatchObject({ status: 409, body: { detail: INTEGRITY_DETAIL } });
  });

  it('renders integrityConflict() with the same body', () => {
    expect(render(integrityConflict())).toMatchObject({ status: 409, body: { detail: INTEGRITY_DETAIL } });
  });

  it.each([
    ['a failed query of no known class (a bug of ours)', queryFailed('42601')],
    ['a failed query without a code', new QueryFailedError('SELECT 1', [], new Error('boom'))],
    ['any other error', new Error('boom')],
  ])('keeps %s a 500', (_case, exception) => {
    expect(render(exception)).toEqual({
      status: 500,
      body: { exception_message: 'Internal Server Error' },
      headers: {},
    });
  });

  it.each([
    ['an invalid byte sequence', '22021'],
    ['a numeric value out of range', '22003'],
    ['an invalid text representation', '22P02'],
    ['a statement too complex', '54001'],
  ])('answers a value Postgres refused (%s) 422, the request being at fault', (_case, code) => {
    expect(render(queryFailed(code))).toEqual({
      status: 422,
      body: { detail: 'Invalid request: a value cannot be stored.' },
      headers: {},
    });
  });

  const connectionError = (message: string, code?: string) => Object.assign(new Error(message), code ? { code } : {});
  it.each([
    ['a refused connection', connectionError('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')],
    ['a lost connection', connectionError('Connection terminated unexpectedly')],
    ['a pool that could not connect in time', connectionError('timeout exceeded when trying to connect')],
    ['an administrator shutdown mid-query', queryFailed('57P01')],
    ['a database starting up', queryFailed('57P03')],
    ['a connection exception', queryFailed('08006')],
    ['a serialization failure', queryFailed('40001')],
    ['a closed NATS connection', new ClosedConnectionError()],
    ['a NATS request that timed out', new TimeoutError()],
    ['a NATS request cut by a disconnect', new RequestError('connection disconnected')],
  ])('answers %s 503 with Retry-After, so that Prefect clients retry', (_case, exception) => {
    expect(render(exception)).toEqual({
      status: 503,
      body: { exception_message: 'Service Unavailable' },
      headers: { 'retry-after': '2' },
    });
  });

  it('answers badRequest() with 400 {"detail"}', () => {
    expect(render(badRequest('Flow run state is required'))).toMatchObject({
      status: 400,
      body: { detail: 'Flow run state is required' },
    });
  });
});
