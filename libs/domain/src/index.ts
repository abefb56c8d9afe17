export * from './errors';
export * from './presenters/flow.presenter';
