export * from './hydration';
export * from './parameter-schemas';
