import { prefectClientVersion } from '@app/domain';
import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { requestApiVersion, requestHeader } from '@gateway/http/api-version.guard';

/** Who proposes a transition, as Prefect's orchestration dependencies read it from the request headers. */
export interface OrchestrationClient {
  /** From a Prefect client's `User-Agent`. */
  clientVersion: string | null;
  /** The `X-PREFECT-API-VERSION` header, already checked by the ApiVersionGuard. */
  apiVersion: string | null;
}

/** The orchestration client of a request. */
export const RequestClient = createParamDecorator((_data: unknown, context: ExecutionContext): OrchestrationClient => {
  const request = context.switchToHttp().getRequest<FastifyRequest>();
  return {
    clientVersion: prefectClientVersion(requestHeader(request, 'user-agent') ?? undefined),
    apiVersion: requestApiVersion(request),
  };
});
