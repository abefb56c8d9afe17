export * from './flow-run-proposals';
export * from './flow-run-transitions';
export * from './orchestration.module';
export * from './task-run-transitions';
