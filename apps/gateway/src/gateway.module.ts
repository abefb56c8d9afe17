import { ConfigModule } from '@app/config';
import { PersistenceModule } from '@app/persistence';
import { Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { FlowsModule } from './flows/flows.module';
import { PrefectExceptionFilter } from './http/prefect-exception.filter';
import { RequestValidationPipe } from './http/request-validation.pipe';
import { ServerController } from './server/server.controller';

@Module({
  imports: [ConfigModule, PersistenceModule, FlowsModule],
  controllers: [ServerController],
  providers: [
    { provide: APP_PIPE, useClass: RequestValidationPipe },
    { provide: APP_FILTER, useClass: PrefectExceptionFilter },
  ],
})
export class GatewayModule {}
