import { MigrationInterface, QueryRunner } from 'typeorm';

export class LateRunsIndex1795899665711 implements MigrationInterface {
  name = 'LateRunsIndex1795899665711';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            CREATE INDEX "ix_flow_run__late_runs_next_scheduled_start_time" ON "flow_run" ("next_scheduled_start_time")
            WHERE state_type = 'SCHEDULED'
                AND state_name = 'Scheduled'
        `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            DROP INDEX "public"."ix_flow_run__late_runs_next_scheduled_start_time"
        `);
  }
}
