import 'reflect-metadata';
import { closeOnSignals, createLogger, loadConfig } from '@app/config';
import { listenForMetrics, MetricsRegistry } from '@app/observability';
import { prepareDatabase } from '@app/persistence';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { SchedulerModule } from './scheduler.module';

async function bootstrap(): Promise<void> {
  const config = loadConfig();
  await prepareDatabase(config.db.url);
  const app = await NestFactory.createApplicationContext(SchedulerModule, { logger: createLogger(config) });
  closeOnSignals(app, 'scheduler');
  await app.init();
  // Started here rather than by the module, so that schedulers run in-process (tests) do not compete for the port.
  const metrics = await listenForMetrics(app.get(MetricsRegistry), {
    host: config.http.host,
    port: config.metrics.port,
    authString: config.api.authString,
  });
  const address = metrics.address();
  const metricsPort = typeof address === 'object' && address !== null ? address.port : config.metrics.port;
  new Logger('scheduler').log(
    `scheduler started (namespace ${config.nats.namespace}, metrics on http://${config.http.host}:${metricsPort}/metrics)`,
  );
}

bootstrap().catch((error: unknown) => {
  process.stderr.write(
    `${JSON.stringify({ level: 'fatal', message: 'scheduler failed to start', error: String(error) })}\n`,
  );
  process.exit(1);
});
