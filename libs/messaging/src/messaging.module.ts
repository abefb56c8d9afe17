import { AppConfig } from '@app/config';
import { DynamicModule, Global, Module } from '@nestjs/common';
import { DispatchSignals } from './dispatch-signals';
import { EventPublisher } from './event-publisher';
import { FlowRunBus } from './flow-run-bus';
import { NatsClient } from './nats-connection';

@Global()
@Module({})
export class MessagingModule {
  /** `clientName` identifies this process in NATS monitoring (`gateway`, `scheduler`). */
  static forRoot(clientName: string): DynamicModule {
    return {
      module: MessagingModule,
      providers: [
        {
          provide: NatsClient,
          inject: [AppConfig],
          useFactory: (config: AppConfig) => NatsClient.connect(config, clientName),
        },
        FlowRunBus,
        DispatchSignals,
        EventPublisher,
      ],
      exports: [NatsClient, FlowRunBus, DispatchSignals, EventPublisher],
    };
  }
}
