import { AppConfig } from '@app/config';
import {
  OrchestrationResult,
  SetTaskRunStateDto,
  TaskRunCreateDto,
  TaskRunFilterRequestDto,
  TaskRunResponse,
} from '@app/contracts';
import {
  generateRunName,
  integrityConflict,
  notFound,
  objectNotFound,
  presentOrchestrationResult,
  presentTaskRun,
  resolveLimit,
  taskRunLabels,
  taskRunPolicy,
} from '@app/domain';
import { TaskRunTransitions } from '@app/orchestration';
import { Database, TaskRunEntity, Transaction } from '@app/persistence';
import { Injectable } from '@nestjs/common';
import type { OrchestrationClient } from '@gateway/flow-runs/orchestration-client.decorator';

@Injectable()
export class TaskRunService {
  constructor(
    private readonly db: Database,
    private readonly transitions: TaskRunTransitions,
    private readonly config: AppConfig,
  ) {}

  /**
   * `POST /task_runs/`: idempotent on (flow run, task key, dynamic key) — the existing task run is returned as it
   * is (`created: false`). A new one enters the given state, or PENDING.
   */
  async create(
    body: TaskRunCreateDto,
    client: OrchestrationClient,
  ): Promise<{ task: TaskRunResponse; created: boolean }> {
    return this.db.transaction(async (tx) => {
      const flowRunId = body.flow_run_id ?? null;
      const flowRun = flowRunId ? await tx.flowRuns.findById(flowRunId) : null;
      if (flowRunId && !flowRun) throw integrityConflict();
      const existing = flowRunId ? null : await tx.taskRuns.findByKey(null, body.task_key, body.dynamic_key);
      const inserted = existing
        ? null
        : await tx.taskRuns.insertIfAbsent({
            ...(body.id ? { id: body.id } : {}),
            name: body.name ?? generateRunName(),
            flow_run_id: flowRunId,
            task_key: body.task_key,
            dynamic_key: body.dynamic_key,
            cache_key: body.cache_key ?? null,
            cache_expiration: body.cache_expiration ?? null,
            task_version: body.task_version ?? null,
            empirical_policy: taskRunPolicy(body.empirical_policy),
            tags: body.tags,
            labels: taskRunLabels(flowRun, body.labels),
            task_inputs: body.task_inputs,
          });
      if (!inserted) {
        const found = existing ?? (await tx.taskRuns.findByKey(flowRunId, body.task_key, body.dynamic_key));
        if (!found) throw integrityConflict();
        return { task: await this.present(tx, found), created: false };
      }
      await this.transitions.transition(tx, inserted, body.state ?? { type: 'PENDING' }, client, true);
      return { task: await this.present(tx, (await tx.taskRuns.findById(inserted.id))!), created: true };
    });
  }

  async read(id: string): Promise<TaskRunResponse> {
    const task = await this.db.repos.taskRuns.findById(id);
    if (!task) throw notFound('Task not found');
    return this.present(this.db.repos, task);
  }

  /**
   * `POST /task_runs/{id}/set_state`: the task run stays locked from the read to the commit, so proposals for one
   * task run are recorded one after the other. `created` says whether a new state was written.
   */
  async setState(
    id: string,
    body: SetTaskRunStateDto,
    client: OrchestrationClient,
  ): Promise<{ result: OrchestrationResult; created: boolean }> {
    return this.db.transaction(async (tx) => {
      const task = await tx.taskRuns.findByIdForUpdate(id);
      if (!task) throw objectNotFound(`Task run with id ${id} not found`);
      const outcome = await this.transitions.transition(tx, task, body.state, client, body.force ?? false);
      return { result: presentOrchestrationResult(outcome), created: outcome.written };
    });
  }

  async filter(body: TaskRunFilterRequestDto): Promise<TaskRunResponse[]> {
    const tasks = await this.db.repos.taskRuns.filter(body, resolveLimit(body.limit, this.config.api.defaultLimit));
    const states = await this.db.repos.taskRunStates.findByIds(
      tasks.flatMap((task) => (task.state_id ? [task.state_id] : [])),
    );
    const now = new Date();
    return tasks.map((task) => presentTaskRun(task, task.state_id ? (states.get(task.state_id) ?? null) : null, now));
  }

  private async present(repos: Pick<Transaction, 'taskRunStates'>, task: TaskRunEntity): Promise<TaskRunResponse> {
    return presentTaskRun(task, task.state_id ? await repos.taskRunStates.findById(task.state_id) : null);
  }
}
