import { MigrationInterface, QueryRunner } from 'typeorm';

export class DeploymentConcurrencyLimitIdentity1796600003839 implements MigrationInterface {
  name = 'DeploymentConcurrencyLimitIdentity1796600003839';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            ALTER TABLE "deployment"
            ADD "concurrency_limit_id" uuid
        `);
    await queryRunner.query(`
            ALTER TABLE "deployment"
            ADD "concurrency_limit_created" TIMESTAMP(6) WITH TIME ZONE
        `);
    await queryRunner.query(`
            ALTER TABLE "deployment"
            ADD "concurrency_limit_updated" TIMESTAMP(6) WITH TIME ZONE
        `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            ALTER TABLE "deployment" DROP COLUMN "concurrency_limit_updated"
        `);
    await queryRunner.query(`
            ALTER TABLE "deployment" DROP COLUMN "concurrency_limit_created"
        `);
    await queryRunner.query(`
            ALTER TABLE "deployment" DROP COLUMN "concurrency_limit_id"
        `);
  }
}
