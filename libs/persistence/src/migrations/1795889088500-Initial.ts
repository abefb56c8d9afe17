import { MigrationInterface, QueryRunner } from 'typeorm';

export class Initial1795889088500 implements MigrationInterface {
  name = 'Initial1795889088500';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            CREATE TABLE "flow" (
                "id" uuid NOT NULL DEFAULT gen_random_uuid(),
                "created" TIMESTAMP(6) WITH TIME ZONE NOT NULL DEFAULT now(),
                "updated" TIMESTAMP(6) WITH TIME ZONE NOT NULL DEFAULT now(),
                "name" character varying NOT NULL,
                "tags" jsonb NOT NULL DEFAULT '[]',
                "labels" jsonb NOT NULL DEFAULT '{}',
                CONSTRAINT "UQ_1973215ef5e40159c846dc7b0fb" UNIQUE ("name"),
                CONSTRAINT "PK_6c2ad4a3e86394cd9bb7a80a228" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`
            CREATE TABLE "work_pool" (
                "id" uuid NOT NULL DEFAULT gen_random_uuid(),
                "created" TIMESTAMP(6) WITH TIME ZONE NOT NULL DEFAULT now(),
                "updated" TIMESTAMP(6) WITH TIME ZONE NOT NULL DEFAULT now(),
                "name" character varying NOT NULL,
                "description" text,
                "type" character varying NOT NULL,
                "base_job_template" jsonb NOT NULL DEFAULT '{}',
                "is_paused" boolean NOT NULL DEFAULT false,
                "concurrency_limit" integer,
                "status" character varying NOT NULL DEFAULT 'NOT_READY',
                "default_queue_id" uuid,
                "storage_configuration" jsonb NOT NULL DEFAULT '{}',
                "last_transitioned_status_at" TIMESTAMP(6) WITH TIME ZONE,
                "last_status_event_id" uuid,
                CONSTRAINT "UQ_83913c8ca0e34ca7898c3637a81" UNIQUE ("name"),
                CONSTRAINT "PK_b1566c61030af2397833c044cd4" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`
            CREATE TABLE "work_queue" (
                "id" uuid NOT NULL DEFAULT gen_random_uuid(),
                "created" TIMESTAMP(6) WITH TIME ZONE NOT NULL DEFAULT now(),
                "updated" TIMESTAMP(6) WITH TIME ZONE NOT NULL DEFAULT now(),
                "work_pool_id" uuid NOT NULL,
                "name" character varying NOT NULL,
                "description" text DEFAULT '',
                "is_paused" boolean NOT NULL DEFAULT false,
                "concurrency_limit" integer,
                "priority" integer NOT NULL,
                "last_polled" TIMESTAMP(6) WITH TIME ZONE,
                "status" character varying NOT NULL DEFAULT 'NOT_READY',
                "filter" jsonb,
                CONSTRAINT "uq_work_queue__work_pool_id_name" UNIQUE ("work_pool_id", "name"),
                CONSTRAINT "PK_bafeca76d9e54840c25b41f072f" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`
            CREATE INDEX "ix_work_queue__work_pool_id_priority" ON "work_queue" ("work_pool_id", "priority")
        `);
    await queryRunner.query(`
            CREATE TABLE "deployment" (
                "id" uuid NOT NULL DEFAULT gen_random_uuid(),
                "created" TIMESTAMP(6) WITH TIME ZONE NOT NULL DEFAULT now(),
                "updated" TIMESTAMP(6) WITH TIME ZONE NOT NULL DEFAULT now(),
                "name" character varying NOT NULL,
                "flow_id" uuid NOT NULL,
                "version" character varying,
                "description" text,
                "paused" boolean NOT NULL DEFAULT false,
                "status" character varying NOT NULL DEFAULT 'NOT_READY',
                "last_polled" TIMESTAMP(6) WITH TIME ZONE,
                "concurrency_limit" integer,
                "concurrency_options" jsonb,
                "parameters" jsonb NOT NULL DEFAULT '{}',
                "parameter_openapi_schema" jsonb,
                "enforce_parameter_schema" boolean NOT NULL DEFAULT true,
                "tags" jsonb NOT NULL DEFAULT '[]',
                "labels" jsonb NOT NULL DEFAULT '{}',
                "work_queue_name" character varying,
                "work_queue_id" uuid,
                "path" character varying,
                "entrypoint" character varying,
                "pull_steps" jsonb,
                "storage_document_id" uuid,
                "infrastructure_document_id" uuid,
                "job_variables" jsonb NOT NULL DEFAULT '{}',
                "version_info" jsonb,
                "created_by" jsonb,
                "updated_by" jsonb,
                CONSTRAINT "uq_deployment__flow_id_name" UNIQUE ("flow_id", "name"),
                CONSTRAINT "PK_ee1f952fc81f37c6fea69c2e248" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`
            CREATE INDEX "ix_deployment__flow_id" ON "deployment" ("flow_id")
        `);
    await queryRunner.query(`
            CREATE INDEX "ix_deployment__paused" ON "deployment" ("paused")
        `);
    await queryRunner.query(`
            CREATE INDEX "ix_deployment__work_queue_name" ON "deployment" ("work_queue_name")
        `);
    await queryRunner.query(`
            CREATE INDEX "ix_deployment__work_queue_id" ON "deployment" ("work_queue_id")
        `);
    await queryRunner.query(`
            CREATE TABLE "deployment_schedule" (
                "id" uuid NOT NULL DEFAULT gen_random_uuid(),
                "created" TIMESTAMP(6) WITH TIME ZONE NOT NULL DEFAULT now(),
                "updated" TIMESTAMP(6) WITH TIME ZONE NOT NULL DEFAULT now(),
                "deployment_id" uuid NOT NULL,
                "schedule" jsonb NOT NULL,
                "active" boolean NOT NULL DEFAULT true,
                "max_scheduled_runs" integer,
                "parameters" jsonb NOT NULL DEFAULT '{}',
                "slug" character varying,
                CONSTRAINT "uq_deployment_schedule__deployment_id_slug" UNIQUE ("deployment_id", "slug"),
                CONSTRAINT "PK_9e6a77d62a3e8ee21ef5ada35a5" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`
            CREATE INDEX "ix_deployment_schedule__deployment_id" ON "deployment_schedule" ("deployment_id")
        `);
    await queryRunner.query(`
            CREATE TABLE "flow_run" (
                "id" uuid NOT NULL DEFAULT gen_random_uuid(),
                "created" TIMESTAMP(6) WITH TIME ZONE NOT NULL DEFAULT now(),
                "updated" TIMESTAMP(6) WITH TIME ZONE NOT NULL DEFAULT now(),
                "name" character varying NOT NULL,
                "flow_id" uuid NOT NULL,
                "deployment_id" uuid,
                "deployment_version" character varying,
                "work_queue_id" uuid,
                "work_queue_name" character varying,
                "flow_version" character varying,
                "parameters" jsonb NOT NULL DEFAULT '{}',
                "idempotency_key" character varying,
                "context" jsonb NOT NULL DEFAULT '{}',
                "empirical_policy" jsonb NOT NULL DEFAULT '{}',
                "tags" jsonb NOT NULL DEFAULT '[]',
                "labels" jsonb NOT NULL DEFAULT '{}',
                "parent_task_run_id" uuid,
                "state_id" uuid,
                "state_type" character varying,
                "state_name" character varying,
                "state_timestamp" TIMESTAMP(6) WITH TIME ZONE,
                "run_count" integer NOT NULL DEFAULT '0',
                "expected_start_time" TIMESTAMP(6) WITH TIME ZONE,
                "next_scheduled_start_time" TIMESTAMP(6) WITH TIME ZONE,
                "start_time" TIMESTAMP(6) WITH TIME ZONE,
                "end_time" TIMESTAMP(6) WITH TIME ZONE,
                "total_run_time" double precision NOT NULL DEFAULT '0',
                "auto_scheduled" boolean NOT NULL DEFAULT false,
                "infrastructure_document_id" uuid,
                "infrastructure_pid" character varying,
                "created_by" jsonb,
                "job_variables" jsonb NOT NULL DEFAULT '{}',
                CONSTRAINT "uq_flow_run__flow_id_idempotency_key" UNIQUE ("flow_id", "idempotency_key"),
                CONSTRAINT "PK_858b1dd0d1055c44261ae00d45b" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`
            CREATE INDEX "ix_flow_run__flow_id" ON "flow_run" ("flow_id")
        `);
    await queryRunner.query(`
            CREATE INDEX "ix_flow_run__deployment_id" ON "flow_run" ("deployment_id")
        `);
    await queryRunner.query(`
            CREATE INDEX "ix_flow_run__work_queue_name" ON "flow_run" ("work_queue_name")
        `);
    await queryRunner.query(`
            CREATE INDEX "ix_flow_run__parent_task_run_id" ON "flow_run" ("parent_task_run_id")
        `);
    await queryRunner.query(`
            CREATE INDEX "ix_flow_run__state_id" ON "flow_run" ("state_id")
        `);
    await queryRunner.query(`
            CREATE INDEX "ix_flow_run__state_type" ON "flow_run" ("state_type")
        `);
    await queryRunner.query(`
            CREATE INDEX "ix_flow_run__state_name" ON "flow_run" ("state_name")
        `);
    await queryRunner.query(`
            CREATE INDEX "ix_flow_run__start_time" ON "flow_run" ("start_time")
        `);
    await queryRunner.query(`
            CREATE INDEX "ix_flow_run__deployment_id_auto_scheduled_next_scheduled" ON "flow_run" (
                "deployment_id",
                "auto_scheduled",
                "next_scheduled_start_time"
            )
            WHERE state_type = 'SCHEDULED'
        `);
    await queryRunner.query(`
            CREATE INDEX "ix_flow_run__next_scheduled_start_time_scheduled" ON "flow_run" ("next_scheduled_start_time")
            WHERE state_type = 'SCHEDULED'
        `);
    await queryRunner.query(`
            CREATE INDEX "ix_flow_run__work_queue_id_next_scheduled_start_time_scheduled" ON "flow_run" ("work_queue_id", "next_scheduled_start_time")
            WHERE state_type = 'SCHEDULED'
        `);
    await queryRunner.query(`
            CREATE INDEX "ix_flow_run__work_queue_id_state_type" ON "flow_run" ("work_queue_id", "state_type")
        `);
    await queryRunner.query(`
            CREATE TABLE "flow_run_state" (
                "id" uuid NOT NULL DEFAULT gen_random_uuid(),
                "created" TIMESTAMP(6) WITH TIME ZONE NOT NULL DEFAULT now(),
                "updated" TIMESTAMP(6) WITH TIME ZONE NOT NULL DEFAULT now(),
                "flow_run_id" uuid NOT NULL,
                "type" character varying NOT NULL,
                "name" character varying NOT NULL,
                "timestamp" TIMESTAMP(6) WITH TIME ZONE NOT NULL,
                "message" text,
                "data" jsonb,
                "state_details" jsonb NOT NULL DEFAULT '{}',
                CONSTRAINT "PK_2f8f66c1e8b32124b6cf14e8c83" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`
            CREATE UNIQUE INDEX "ix_flow_run_state__flow_run_id_timestamp" ON "flow_run_state" ("flow_run_id", "timestamp")
        `);
    await queryRunner.query(`
            CREATE TABLE "worker" (
                "id" uuid NOT NULL DEFAULT gen_random_uuid(),
                "created" TIMESTAMP(6) WITH TIME ZONE NOT NULL DEFAULT now(),
                "updated" TIMESTAMP(6) WITH TIME ZONE NOT NULL DEFAULT now(),
                "work_pool_id" uuid NOT NULL,
                "name" character varying NOT NULL,
                "last_heartbeat_time" TIMESTAMP(6) WITH TIME ZONE NOT NULL DEFAULT now(),
                "heartbeat_interval_seconds" integer,
                "status" character varying NOT NULL DEFAULT 'OFFLINE',
                CONSTRAINT "uq_worker__work_pool_id_name" UNIQUE ("work_pool_id", "name"),
                CONSTRAINT "PK_dc8175fa0e34ce7a39e4ec73b94" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`
            CREATE INDEX "ix_worker__work_pool_id_last_heartbeat_time" ON "worker" ("work_pool_id", "last_heartbeat_time")
        `);
    await queryRunner.query(`
            ALTER TABLE "work_queue"
            ADD CONSTRAINT "FK_2ee66d2aa6a71de9f093b4dba80" FOREIGN KEY ("work_pool_id") REFERENCES "work_pool"("id") ON DELETE CASCADE ON UPDATE NO ACTION
        `);
    await queryRunner.query(`
            ALTER TABLE "deployment"
            ADD CONSTRAINT "FK_23de71a9c7e0c361653b9620a06" FOREIGN KEY ("flow_id") REFERENCES "flow"("id") ON DELETE CASCADE ON UPDATE NO ACTION
        `);
    await queryRunner.query(`
            ALTER TABLE "deployment"
            ADD CONSTRAINT "FK_15d21a03a77e56c511a553f8519" FOREIGN KEY ("work_queue_id") REFERENCES "work_queue"("id") ON DELETE
            SET NULL ON UPDATE NO ACTION
        `);
    await queryRunner.query(`
            ALTER TABLE "deployment_schedule"
            ADD CONSTRAINT "FK_c4461e59dc11aa151acbcc02a8b" FOREIGN KEY ("deployment_id") REFERENCES "deployment"("id") ON DELETE CASCADE ON UPDATE NO ACTION
        `);
    await queryRunner.query(`
            ALTER TABLE "flow_run"
            ADD CONSTRAINT "FK_fd02d7c1c7795b5b34b8c422b65" FOREIGN KEY ("flow_id") REFERENCES "flow"("id") ON DELETE CASCADE ON UPDATE NO ACTION
        `);
    await queryRunner.query(`
            ALTER TABLE "flow_run"
            ADD CONSTRAINT "FK_8bfdf72acbc7f9c0a15634fde55" FOREIGN KEY ("work_queue_id") REFERENCES "work_queue"("id") ON DELETE
            SET NULL ON UPDATE NO ACTION
        `);
    await queryRunner.query(`
            ALTER TABLE "flow_run_state"
            ADD CONSTRAINT "FK_57a864c9cd924b35b62009d1622" FOREIGN KEY ("flow_run_id") REFERENCES "flow_run"("id") ON DELETE CASCADE ON UPDATE NO ACTION
        `);
    await queryRunner.query(`
            ALTER TABLE "worker"
            ADD CONSTRAINT "FK_75954e3230bd1596e926eaac24c" FOREIGN KEY ("work_pool_id") REFERENCES "work_pool"("id") ON DELETE CASCADE ON UPDATE NO ACTION
        `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            ALTER TABLE "worker" DROP CONSTRAINT "FK_75954e3230bd1596e926eaac24c"
        `);
    await queryRunner.query(`
            ALTER TABLE "flow_run_state" DROP CONSTRAINT "FK_57a864c9cd924b35b62009d1622"
        `);
    await queryRunner.query(`
            ALTER TABLE "flow_run" DROP CONSTRAINT "FK_8bfdf72acbc7f9c0a15634fde55"
        `);
    await queryRunner.query(`
            ALTER TABLE "flow_run" DROP CONSTRAINT "FK_fd02d7c1c7795b5b34b8c422b65"
        `);
    await queryRunner.query(`
            ALTER TABLE "deployment_schedule" DROP CONSTRAINT "FK_c4461e59dc11aa151acbcc02a8b"
        `);
    await queryRunner.query(`
            ALTER TABLE "deployment" DROP CONSTRAINT "FK_15d21a03a77e56c511a553f8519"
        `);
    await queryRunner.query(`
            ALTER TABLE "deployment" DROP CONSTRAINT "FK_23de71a9c7e0c361653b9620a06"
        `);
    await queryRunner.query(`
            ALTER TABLE "work_queue" DROP CONSTRAINT "FK_2ee66d2aa6a71de9f093b4dba80"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."ix_worker__work_pool_id_last_heartbeat_time"
        `);
    await queryRunner.query(`
            DROP TABLE "worker"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."ix_flow_run_state__flow_run_id_timestamp"
        `);
    await queryRunner.query(`
            DROP TABLE "flow_run_state"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."ix_flow_run__work_queue_id_state_type"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."ix_flow_run__work_queue_id_next_scheduled_start_time_scheduled"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."ix_flow_run__next_scheduled_start_time_scheduled"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."ix_flow_run__deployment_id_auto_scheduled_next_scheduled"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."ix_flow_run__start_time"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."ix_flow_run__state_name"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."ix_flow_run__state_type"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."ix_flow_run__state_id"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."ix_flow_run__parent_task_run_id"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."ix_flow_run__work_queue_name"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."ix_flow_run__deployment_id"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."ix_flow_run__flow_id"
        `);
    await queryRunner.query(`
            DROP TABLE "flow_run"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."ix_deployment_schedule__deployment_id"
        `);
    await queryRunner.query(`
            DROP TABLE "deployment_schedule"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."ix_deployment__work_queue_id"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."ix_deployment__work_queue_name"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."ix_deployment__paused"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."ix_deployment__flow_id"
        `);
    await queryRunner.query(`
            DROP TABLE "deployment"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."ix_work_queue__work_pool_id_priority"
        `);
    await queryRunner.query(`
            DROP TABLE "work_queue"
        `);
    await queryRunner.query(`
            DROP TABLE "work_pool"
        `);
    await queryRunner.query(`
            DROP TABLE "flow"
        `);
  }
}
