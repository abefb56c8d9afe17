import { objectNotFound, validationFailed } from '@app/domain';
import { ArgumentsHost, Logger } from '@nestjs/common';
import { ClosedConnectionError } from '@nats-io/transport-node';
import { firstValueFrom } from 'rxjs';
import { PrefectRpcExceptionFilter } from './prefect-rpc-exception.filter';

/** The reply the filter answers a NATS request `payload` with, when its handler threw `exception`. */
function reply(exception: unknown, payload: unknown = {}) {
  const host = { switchToRpc: () => ({ getData: () => payload }) };
  return firstValueFrom(new PrefectRpcExceptionFilter().catch(exception, host as unknown as ArgumentsHost));
}

describe('PrefectRpcExceptionFilter', () => {
  beforeAll(() => {
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterAll(() => jest.restoreAllMocks());

  it('answers a domain error as the HTTP filter does, echoing the payload in a validation error', async () => {
    expect(await reply(objectNotFound('Flow run with id x not found'))).toEqual({
      status: 404,
      body: { exception_message: 'Flow run with id x not found' },
    });
    const detail = { type: 'missing', loc: ['body', 'flow_run_id'], msg: 'Field required', input: {} };
    expect(await reply(validationFailed([detail]), { publication: 'p' })).toEqual({
      status: 422,
      body: {
        exception_message: 'Invalid request received.',
        exception_detail: [detail],
        request_body: { publication: 'p' },
      },
    });
  });

  it.each([
    ['Postgres unreachable', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    ['NATS closed', new ClosedConnectionError()],
  ])('answers an outage (%s) 503, which a NATS worker resends', async (_case, exception) => {
    expect(await reply(exception)).toEqual({ status: 503, body: { exception_message: 'Service Unavailable' } });
  });

  it('answers any other error 500', async () => {
    expect(await reply(new Error('boom'))).toEqual({
      status: 500,
      body: { exception_message: 'Internal Server Error' },
    });
  });
});
