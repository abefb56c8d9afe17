import { AppConfig } from '@app/config';
import { FlowCountRequestDto, FlowCreateDto, FlowFilterRequestDto, FlowResponse, FlowUpdateDto } from '@app/contracts';
import { notFound, presentFlow, resolveLimit } from '@app/domain';
import { Database, FlowEntity } from '@app/persistence';
import { Injectable } from '@nestjs/common';

@Injectable()
export class FlowService {
  constructor(
    private readonly db: Database,
    private readonly config: AppConfig,
  ) {}

  /** Prefect's create is an upsert by name: an existing flow is returned unchanged (`created: false`). */
  async create(body: FlowCreateDto): Promise<{ flow: FlowResponse; created: boolean }> {
    const inserted = await this.db.repos.flows.insertIfAbsent({
      name: body.name,
      tags: body.tags,
      labels: body.labels ?? {},
    });
    const flow = inserted ?? (await this.db.repos.flows.findByName(body.name));
    if (!flow) throw notFound('Flow not found');
    return { flow: presentFlow(flow), created: inserted !== null };
  }

  async read(id: string): Promise<FlowResponse> {
    return presentFlow(this.found(await this.db.repos.flows.findById(id)));
  }

  async readByName(name: string): Promise<FlowResponse> {
    return presentFlow(this.found(await this.db.repos.flows.findByName(name)));
  }

  async filter(body: FlowFilterRequestDto): Promise<FlowResponse[]> {
    const flows = await this.db.repos.queries.flows(body, resolveLimit(body.limit, this.config.api.defaultLimit));
    return flows.map(presentFlow);
  }

  count(body: FlowCountRequestDto): Promise<number> {
    return this.db.repos.queries.countFlows(body);
  }

  async update(id: string, body: FlowUpdateDto): Promise<void> {
    const updated = await this.db.repos.flows.updateById(
      id,
      body.tags === undefined ? { updated: new Date() } : { tags: body.tags },
    );
    if (!updated) throw notFound('Flow not found');
  }

  async delete(id: string): Promise<void> {
    if (!(await this.db.repos.flows.deleteById(id))) throw notFound('Flow not found');
  }

  private found(flow: FlowEntity | null): FlowEntity {
    if (!flow) throw notFound('Flow not found');
    return flow;
  }
}
