export * from './concurrency-options';
export * from './deployment-status';
