export * from './errors';
export * from './limits';
export * from './orchestration';
export * from './presenters/deployment.presenter';
export * from './presenters/flow-run.presenter';
export * from './presenters/flow.presenter';
export * from './presenters/work-pool.presenter';
