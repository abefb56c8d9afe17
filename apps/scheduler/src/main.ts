import 'reflect-metadata';
import { closeOnSignals, createLogger, loadConfig } from '@app/config';
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
  new Logger('scheduler').log(`scheduler started (namespace ${config.nats.namespace})`);
}

bootstrap().catch((error: unknown) => {
  process.stderr.write(
    `${JSON.stringify({ level: 'fatal', message: 'scheduler failed to start', error: String(error) })}\n`,
  );
  process.exit(1);
});
