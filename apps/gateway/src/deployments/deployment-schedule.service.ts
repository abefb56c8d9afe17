import { DeploymentScheduleCreateDto, DeploymentScheduleResponse, DeploymentScheduleUpdateDto } from '@app/contracts';
import { conflict, integrityConflict, notFound, presentDeploymentSchedule } from '@app/domain';
import { Database, Transaction } from '@app/persistence';
import { Injectable } from '@nestjs/common';
import { newScheduleValues, scheduleChanges } from './schedules';

@Injectable()
export class DeploymentScheduleService {
  constructor(private readonly db: Database) {}

  async list(deploymentId: string): Promise<DeploymentScheduleResponse[]> {
    if (!(await this.db.repos.deployments.findById(deploymentId))) throw notFound('Deployment not found.');
    return (await this.db.repos.deploymentSchedules.listForDeployment(deploymentId)).map(presentDeploymentSchedule);
  }

  /** Adds schedules; the deployment's existing runs are left alone. */
  async create(deploymentId: string, schedules: DeploymentScheduleCreateDto[]): Promise<DeploymentScheduleResponse[]> {
    const now = new Date();
    const created = await this.db.transaction(async (tx) => {
      await this.requireDeployment(tx, deploymentId);
      const rows = await tx.deploymentSchedules.insertMany(
        deploymentId,
        schedules.map((schedule) => newScheduleValues(schedule, now)),
      );
      if (rows.length !== schedules.length) throw conflict('Schedule slugs must be unique within a deployment.');
      return rows;
    });
    return created.map(presentDeploymentSchedule);
  }

  /** Changing a schedule drops the deployment's future auto-scheduled runs, so they are made anew. */
  async update(deploymentId: string, scheduleId: string, update: DeploymentScheduleUpdateDto): Promise<void> {
    await this.db.transaction(async (tx) => {
      await this.requireDeployment(tx, deploymentId);
      const changes = scheduleChanges(update, new Date());
      const holder = changes.slug ? await tx.deploymentSchedules.findIdBySlug(deploymentId, changes.slug) : null;
      if (holder !== null && holder !== scheduleId) throw integrityConflict();
      if (!(await tx.deploymentSchedules.updateForDeployment(deploymentId, { id: scheduleId }, changes))) {
        throw notFound('Schedule not found.');
      }
      await tx.deployments.deleteScheduledRuns(deploymentId, { autoScheduledOnly: true, futureOnly: true });
    });
  }

  /** Deleting a schedule drops every auto-scheduled run of the deployment still waiting, past ones included. */
  async delete(deploymentId: string, scheduleId: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await this.requireDeployment(tx, deploymentId);
      if (!(await tx.deploymentSchedules.deleteForDeploymentById(deploymentId, scheduleId))) {
        throw notFound('Schedule not found.');
      }
      await tx.deployments.deleteScheduledRuns(deploymentId, { autoScheduledOnly: true, futureOnly: false });
    });
  }

  private async requireDeployment(tx: Transaction, deploymentId: string): Promise<void> {
    if (!(await tx.deployments.findById(deploymentId))) throw notFound('Deployment not found.');
  }
}
