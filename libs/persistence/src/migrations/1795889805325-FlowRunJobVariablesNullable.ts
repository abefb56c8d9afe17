import { MigrationInterface, QueryRunner } from 'typeorm';

export class FlowRunJobVariablesNullable1795889805325 implements MigrationInterface {
  name = 'FlowRunJobVariablesNullable1795889805325';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            ALTER TABLE "flow_run"
            ALTER COLUMN "job_variables" DROP NOT NULL
        `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            ALTER TABLE "flow_run"
            ALTER COLUMN "job_variables"
            SET NOT NULL
        `);
  }
}
