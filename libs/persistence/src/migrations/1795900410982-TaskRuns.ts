import { MigrationInterface, QueryRunner } from 'typeorm';

export class TaskRuns1795900410982 implements MigrationInterface {
  name = 'TaskRuns1795900410982';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            CREATE TABLE "task_run" (
                "id" uuid NOT NULL DEFAULT gen_random_uuid(),
                "created" TIMESTAMP(6) WITH TIME ZONE NOT NULL DEFAULT now(),
                "updated" TIMESTAMP(6) WITH TIME ZONE NOT NULL DEFAULT now(),
                "name" character varying NOT NULL,
                "flow_run_id" uuid,
                "task_key" character varying NOT NULL,
                "dynamic_key" character varying NOT NULL,
                "cache_key" character varying,
                "cache_expiration" TIMESTAMP(6) WITH TIME ZONE,
                "task_version" character varying,
                "empirical_policy" jsonb NOT NULL DEFAULT '{}',
                "tags" jsonb NOT NULL DEFAULT '[]',
                "labels" jsonb NOT NULL DEFAULT '{}',
                "task_inputs" jsonb NOT NULL DEFAULT '{}',
                "state_id" uuid,
                "state_type" character varying,
                "state_name" character varying,
                "state_timestamp" TIMESTAMP(6) WITH TIME ZONE,
                "run_count" integer NOT NULL DEFAULT '0',
                "flow_run_run_count" integer NOT NULL DEFAULT '0',
                "expected_start_time" TIMESTAMP(6) WITH TIME ZONE,
                "next_scheduled_start_time" TIMESTAMP(6) WITH TIME ZONE,
                "start_time" TIMESTAMP(6) WITH TIME ZONE,
                "end_time" TIMESTAMP(6) WITH TIME ZONE,
                "total_run_time" double precision NOT NULL DEFAULT '0',
                CONSTRAINT "uq_task_run__flow_run_id_task_key_dynamic_key" UNIQUE ("flow_run_id", "task_key", "dynamic_key"),
                CONSTRAINT "PK_36326cc52f4708f36ae4e6158cc" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`
            CREATE INDEX "ix_task_run__state_type" ON "task_run" ("state_type")
        `);
    await queryRunner.query(`
            CREATE INDEX "ix_task_run__expected_start_time" ON "task_run" ("expected_start_time")
        `);
    await queryRunner.query(`
            CREATE INDEX "ix_task_run__start_time" ON "task_run" ("start_time")
        `);
    await queryRunner.query(`
            CREATE INDEX "ix_task_run__flow_run_id_expected_start_time" ON "task_run" ("flow_run_id", "expected_start_time")
        `);
    await queryRunner.query(`
            CREATE TABLE "task_run_state" (
                "id" uuid NOT NULL DEFAULT gen_random_uuid(),
                "created" TIMESTAMP(6) WITH TIME ZONE NOT NULL DEFAULT now(),
                "updated" TIMESTAMP(6) WITH TIME ZONE NOT NULL DEFAULT now(),
                "task_run_id" uuid NOT NULL,
                "type" character varying NOT NULL,
                "name" character varying NOT NULL,
                "timestamp" TIMESTAMP(6) WITH TIME ZONE NOT NULL,
                "message" text,
                "data" jsonb,
                "state_details" jsonb NOT NULL DEFAULT '{}',
                CONSTRAINT "PK_f0432a326eaab5d4907607d3c67" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`
            CREATE UNIQUE INDEX "ix_task_run_state__task_run_id_timestamp" ON "task_run_state" ("task_run_id", "timestamp")
        `);
    await queryRunner.query(`
            ALTER TABLE "task_run"
            ADD CONSTRAINT "FK_61a6d877846600e4eb6a1005131" FOREIGN KEY ("flow_run_id") REFERENCES "flow_run"("id") ON DELETE CASCADE ON UPDATE NO ACTION
        `);
    await queryRunner.query(`
            ALTER TABLE "task_run_state"
            ADD CONSTRAINT "FK_3fb261c215b7b0ea8270e47279e" FOREIGN KEY ("task_run_id") REFERENCES "task_run"("id") ON DELETE CASCADE ON UPDATE NO ACTION
        `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            ALTER TABLE "task_run_state" DROP CONSTRAINT "FK_3fb261c215b7b0ea8270e47279e"
        `);
    await queryRunner.query(`
            ALTER TABLE "task_run" DROP CONSTRAINT "FK_61a6d877846600e4eb6a1005131"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."ix_task_run_state__task_run_id_timestamp"
        `);
    await queryRunner.query(`
            DROP TABLE "task_run_state"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."ix_task_run__flow_run_id_expected_start_time"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."ix_task_run__start_time"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."ix_task_run__expected_start_time"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."ix_task_run__state_type"
        `);
    await queryRunner.query(`
            DROP TABLE "task_run"
        `);
  }
}
