export * from './messaging.module';
export * from './flow-run-bus';
export * from './nats-connection';
