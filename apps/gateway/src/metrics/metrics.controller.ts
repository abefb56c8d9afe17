import { MetricsRegistry } from '@app/observability';
import { Controller, Get, Header } from '@nestjs/common';

/**
 * Prometheus' scrape target, outside `/api` as Prometheus expects (`/metrics`); behind `API_AUTH_STRING` like
 * the API when one is set (Prometheus' `basic_auth`), since pool and queue names are in it.
 */
@Controller()
export class MetricsController {
  constructor(private readonly metrics: MetricsRegistry) {}

  @Get('metrics')
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  exposition(): Promise<string> {
    return this.metrics.exposition();
  }
}
