import { MigrationInterface, QueryRunner } from 'typeorm';

export class FlowRunLeanerIndexes1795902474685 implements MigrationInterface {
  name = 'FlowRunLeanerIndexes1795902474685';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            DROP INDEX "public"."ix_flow_run__flow_id"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."ix_flow_run__parent_task_run_id"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."ix_flow_run__start_time"
        `);
    await queryRunner.query(`
            CREATE INDEX "ix_flow_run__parent_task_run_id_set" ON "flow_run" ("parent_task_run_id")
            WHERE parent_task_run_id IS NOT NULL
        `);
    await queryRunner.query(`
            CREATE INDEX "ix_flow_run__start_time_set" ON "flow_run" ("start_time")
            WHERE start_time IS NOT NULL
        `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            DROP INDEX "public"."ix_flow_run__start_time_set"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."ix_flow_run__parent_task_run_id_set"
        `);
    await queryRunner.query(`
            CREATE INDEX "ix_flow_run__start_time" ON "flow_run" USING btree ("start_time")
        `);
    await queryRunner.query(`
            CREATE INDEX "ix_flow_run__parent_task_run_id" ON "flow_run" USING btree ("parent_task_run_id")
        `);
    await queryRunner.query(`
            CREATE INDEX "ix_flow_run__flow_id" ON "flow_run" USING btree ("flow_id")
        `);
  }
}
