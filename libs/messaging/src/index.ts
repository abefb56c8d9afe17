export * from './dispatch-signals';
export * from './event-publisher';
export * from './flow-run-bus';
export * from './messaging.module';
export * from './namespaced-nats.server';
export * from './nats-connection';
export * from './nats-errors';
export { UnreadBody } from './message-body';
