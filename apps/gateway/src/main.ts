import 'reflect-metadata';
import { closeOnSignals, loadConfig } from '@app/config';
import { prepareDatabase } from '@app/persistence';
import { NestFactory } from '@nestjs/core';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { GatewayModule } from './gateway.module';
import { createHttpApp } from './http/http-app';

async function bootstrap(): Promise<void> {
  const config = loadConfig();
  await prepareDatabase(config.db.url);
  const app = await createHttpApp(config, (adapter, options) =>
    NestFactory.create<NestFastifyApplication>(GatewayModule, adapter, options),
  );
  closeOnSignals(app, 'gateway', config.http.shutdownDrainSeconds);
  await app.startAllMicroservices();
  await app.listen(config.http.port, config.http.host);
}

bootstrap().catch((error: unknown) => {
  process.stderr.write(
    `${JSON.stringify({ level: 'fatal', message: 'gateway failed to start', error: String(error) })}\n`,
  );
  process.exit(1);
});
