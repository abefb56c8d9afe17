import { Readiness, ReadinessReport } from '@app/observability';
import { Controller, Get, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';

/** Not a Prefect route: Kubernetes' readiness probe, open without credentials like `/api/health`. */
@Controller()
export class ReadinessController {
  constructor(private readonly readiness: Readiness) {}

  /** 200 when ready; 503 naming the failing parts, or while draining at shutdown. */
  @Get('ready')
  async ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<ReadinessReport> {
    const report = await this.readiness.check();
    void reply.status(report.status === 'ready' ? 200 : 503);
    return report;
  }
}
