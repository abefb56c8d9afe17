import { AppConfig } from '@app/config';
import { DynamicModule, Global, Module } from '@nestjs/common';
import { NatsClient } from './nats-connection';

@Global()
@Module({})
export class MessagingModule {
  /** `clientName` identifies this process in NATS monitoring (`gateway`, `scheduler`). */
  static forRoot(clientName: string): DynamicModule {
    return {
      module: MessagingModule,
      providers: [{ provide: NatsClient, inject: [AppConfig], useFactory: (config: AppConfig) => NatsClient.connect(config, clientName) }],
      exports: [NatsClient],
    };
  }
}
