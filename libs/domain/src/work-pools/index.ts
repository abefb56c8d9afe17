export * from './base-job-template';
export * from './client-version';
export * from './queue-priorities';
export * from './reserved-names';
export * from './statuses';
export * from './work-pool-status';
export * from './work-queue-status';
export * from './worker-status';
