import { isApiVersion, prefectClientVersion } from '@app/domain';
import { BadRequestException, createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

/** Who proposes a transition, as Prefect's orchestration dependencies read it from the request headers. */
export interface OrchestrationClient {
  /** From a Prefect client's `User-Agent`. */
  clientVersion: string | null;
  /** The `X-PREFECT-API-VERSION` header. */
  apiVersion: string | null;
}

const header = (request: FastifyRequest, name: string): string | null => {
  const value = request.headers[name];
  return (Array.isArray(value) ? value[0] : value) || null;
};

/** The orchestration client of a request; a malformed API version header is a 400, as in Prefect. */
export const RequestClient = createParamDecorator((_data: unknown, context: ExecutionContext): OrchestrationClient => {
  const request = context.switchToHttp().getRequest<FastifyRequest>();
  const apiVersion = header(request, 'x-prefect-api-version');
  if (apiVersion !== null && !isApiVersion(apiVersion)) {
    // Prefect's text, missing space included.
    throw new BadRequestException(`Invalid X-PREFECT-API-VERSION header format.Expected header in format 'x.y.z' but received ${apiVersion}`);
  }
  return { clientVersion: prefectClientVersion(header(request, 'user-agent') ?? undefined), apiVersion };
});
