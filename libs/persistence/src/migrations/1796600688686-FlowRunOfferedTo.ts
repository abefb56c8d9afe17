import { MigrationInterface, QueryRunner } from 'typeorm';

export class FlowRunOfferedTo1796600688686 implements MigrationInterface {
  name = 'FlowRunOfferedTo1796600688686';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            ALTER TABLE "flow_run"
            ADD "offered_to" text array
        `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            ALTER TABLE "flow_run" DROP COLUMN "offered_to"
        `);
  }
}
