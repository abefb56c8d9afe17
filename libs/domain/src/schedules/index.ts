export * from './schedule-dates';
export * from './schedule-types';
export * from './scheduled-run-rows';
export * from './scheduled-runs';
export { pythonDateTimeString } from './zone-clock';
