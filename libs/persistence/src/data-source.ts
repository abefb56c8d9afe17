// Entry point for the TypeORM CLI (migration:generate / migration:run). Apps never import it.
import { loadConfig } from '@app/config';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from './data-source-options';

export default new DataSource(dataSourceOptions(loadConfig().db.url));
