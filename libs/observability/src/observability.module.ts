import { Global, Module } from '@nestjs/common';
import { MetricsRegistry } from './metrics-registry';
import { Readiness } from './readiness';

/** The app's Prometheus registry and its readiness check (needs the persistence and messaging modules). */
@Global()
@Module({
  providers: [MetricsRegistry, Readiness],
  exports: [MetricsRegistry, Readiness],
})
export class ObservabilityModule {}
