import { MigrationInterface, QueryRunner } from 'typeorm';

export class DeliveryLeases1795890971736 implements MigrationInterface {
  name = 'DeliveryLeases1795890971736';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            DROP INDEX "public"."ix_flow_run__next_scheduled_start_time_scheduled"
        `);
    await queryRunner.query(`
            ALTER TABLE "flow_run"
            ADD "dispatched_state_id" uuid
        `);
    await queryRunner.query(`
            ALTER TABLE "flow_run"
            ADD "dispatched_queue_id" uuid
        `);
    await queryRunner.query(`
            ALTER TABLE "flow_run"
            ADD "dispatch_epoch" integer NOT NULL DEFAULT '0'
        `);
    await queryRunner.query(`
            ALTER TABLE "flow_run"
            ADD "leased_until" TIMESTAMP(6) WITH TIME ZONE
        `);
    await queryRunner.query(`
            CREATE INDEX "ix_flow_run__leased" ON "flow_run" ("work_queue_id", "leased_until")
            WHERE leased_until IS NOT NULL
        `);
    await queryRunner.query(`
            CREATE INDEX "ix_flow_run__undispatched_next_scheduled_start_time" ON "flow_run" ("next_scheduled_start_time")
            WHERE state_type = 'SCHEDULED'
                AND (
                    dispatched_state_id IS DISTINCT
                    FROM state_id
                        OR dispatched_queue_id IS DISTINCT
                    FROM work_queue_id
                )
        `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            DROP INDEX "public"."ix_flow_run__undispatched_next_scheduled_start_time"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."ix_flow_run__leased"
        `);
    await queryRunner.query(`
            ALTER TABLE "flow_run" DROP COLUMN "leased_until"
        `);
    await queryRunner.query(`
            ALTER TABLE "flow_run" DROP COLUMN "dispatch_epoch"
        `);
    await queryRunner.query(`
            ALTER TABLE "flow_run" DROP COLUMN "dispatched_queue_id"
        `);
    await queryRunner.query(`
            ALTER TABLE "flow_run" DROP COLUMN "dispatched_state_id"
        `);
    await queryRunner.query(`
            CREATE INDEX "ix_flow_run__next_scheduled_start_time_scheduled" ON "flow_run" USING btree ("next_scheduled_start_time")
            WHERE ((state_type)::text = 'SCHEDULED'::text)
        `);
  }
}
