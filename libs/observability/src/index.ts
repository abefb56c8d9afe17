export * from './api-auth';
export * from './metrics-listener';
export * from './metrics-registry';
export * from './observability.module';
export * from './readiness';
