export * from './hydration';
export * from './parameter-schemas';
export { pythonRepr } from './python-repr';
