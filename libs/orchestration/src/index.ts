export * from './flow-run-transitions';
export * from './orchestration.module';
