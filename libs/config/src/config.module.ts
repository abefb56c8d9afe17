import { Global, Module } from '@nestjs/common';
import { AppConfig, loadConfig } from './app-config';
import { ShutdownDrain } from './shutdown';

/** Provides the validated {@link AppConfig} (loaded once, when the module is first imported) and the shutdown drain. */
@Global()
@Module({
  providers: [{ provide: AppConfig, useFactory: () => loadConfig() }, ShutdownDrain],
  exports: [AppConfig, ShutdownDrain],
})
export class ConfigModule {}
