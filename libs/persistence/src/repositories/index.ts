import { EntityManager } from 'typeorm';
import { FlowRepository } from './flow.repository';

export * from './entity-repository';
export * from './flow.repository';

/** Every repository, bound to one `EntityManager` (the default one, or a transaction's). */
export class Repositories {
  readonly flows: FlowRepository;

  constructor(manager: EntityManager) {
    this.flows = new FlowRepository(manager);
  }
}
