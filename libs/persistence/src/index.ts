export * from './data-source-options';
export * from './database';
export * from './database-errors';
export * from './database-setup';
export * from './entities';
export * from './persistence.module';
export * from './repositories';
