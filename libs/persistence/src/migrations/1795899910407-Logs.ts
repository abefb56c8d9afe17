import { MigrationInterface, QueryRunner } from 'typeorm';

export class Logs1795899910407 implements MigrationInterface {
  name = 'Logs1795899910407';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            CREATE TABLE "log" (
                "id" uuid NOT NULL DEFAULT gen_random_uuid(),
                "created" TIMESTAMP(6) WITH TIME ZONE NOT NULL DEFAULT now(),
                "updated" TIMESTAMP(6) WITH TIME ZONE NOT NULL DEFAULT now(),
                "name" character varying NOT NULL,
                "level" smallint NOT NULL,
                "flow_run_id" uuid,
                "task_run_id" uuid,
                "message" text NOT NULL,
                "timestamp" TIMESTAMP(6) WITH TIME ZONE NOT NULL,
                CONSTRAINT "PK_350604cbdf991d5930d9e618fbd" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`
            CREATE INDEX "ix_log__level" ON "log" ("level")
        `);
    await queryRunner.query(`
            CREATE INDEX "ix_log__task_run_id" ON "log" ("task_run_id")
        `);
    await queryRunner.query(`
            CREATE INDEX "ix_log__timestamp" ON "log" ("timestamp")
        `);
    await queryRunner.query(`
            CREATE INDEX "ix_log__flow_run_id_timestamp" ON "log" ("flow_run_id", "timestamp")
        `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            DROP INDEX "public"."ix_log__flow_run_id_timestamp"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."ix_log__timestamp"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."ix_log__task_run_id"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."ix_log__level"
        `);
    await queryRunner.query(`
            DROP TABLE "log"
        `);
  }
}
