export * from './body-validation';
export * from './date-time';
export * from './dto/flow.dto';
export * from './dto/validators';
export * from './nats-subjects';
export * from './prefect/responses';
export * from './validation';
