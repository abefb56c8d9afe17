import { MigrationInterface, QueryRunner } from 'typeorm';

export class DeploymentConcurrencyLeases1795894145196 implements MigrationInterface {
  name = 'DeploymentConcurrencyLeases1795894145196';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            CREATE TABLE "deployment_concurrency_lease" (
                "id" uuid NOT NULL DEFAULT gen_random_uuid(),
                "created" TIMESTAMP(6) WITH TIME ZONE NOT NULL DEFAULT now(),
                "updated" TIMESTAMP(6) WITH TIME ZONE NOT NULL DEFAULT now(),
                "deployment_id" uuid NOT NULL,
                "flow_run_id" uuid NOT NULL,
                "expires_at" TIMESTAMP(6) WITH TIME ZONE,
                CONSTRAINT "PK_4428f5b5d22c82c45a5f8da6881" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`
            CREATE INDEX "ix_deployment_concurrency_lease__flow_run_id" ON "deployment_concurrency_lease" ("flow_run_id")
        `);
    await queryRunner.query(`
            CREATE INDEX "ix_deployment_concurrency_lease__deployment_id_expires_at" ON "deployment_concurrency_lease" ("deployment_id", "expires_at")
        `);
    await queryRunner.query(`
            ALTER TABLE "deployment_concurrency_lease"
            ADD CONSTRAINT "FK_c975986ba217305260c422dbbd1" FOREIGN KEY ("deployment_id") REFERENCES "deployment"("id") ON DELETE CASCADE ON UPDATE NO ACTION
        `);
    await queryRunner.query(`
            ALTER TABLE "deployment_concurrency_lease"
            ADD CONSTRAINT "FK_e4cab606dd3c26844d036ae499a" FOREIGN KEY ("flow_run_id") REFERENCES "flow_run"("id") ON DELETE CASCADE ON UPDATE NO ACTION
        `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            ALTER TABLE "deployment_concurrency_lease" DROP CONSTRAINT "FK_e4cab606dd3c26844d036ae499a"
        `);
    await queryRunner.query(`
            ALTER TABLE "deployment_concurrency_lease" DROP CONSTRAINT "FK_c975986ba217305260c422dbbd1"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."ix_deployment_concurrency_lease__deployment_id_expires_at"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."ix_deployment_concurrency_lease__flow_run_id"
        `);
    await queryRunner.query(`
            DROP TABLE "deployment_concurrency_lease"
        `);
  }
}
