import { ObservabilityModule } from '@app/observability';
import { Global, Module } from '@nestjs/common';
import { GatewayMetrics } from './gateway-metrics';
import { MetricsController } from './metrics.controller';

@Global()
@Module({
  imports: [ObservabilityModule],
  controllers: [MetricsController],
  providers: [GatewayMetrics],
  exports: [GatewayMetrics],
})
export class MetricsModule {}
