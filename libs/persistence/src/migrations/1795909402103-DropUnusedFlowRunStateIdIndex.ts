import { MigrationInterface, QueryRunner } from 'typeorm';

export class DropUnusedFlowRunStateIdIndex1795909402103 implements MigrationInterface {
  name = 'DropUnusedFlowRunStateIdIndex1795909402103';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            DROP INDEX "public"."ix_flow_run__state_id"
        `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            CREATE INDEX "ix_flow_run__state_id" ON "flow_run" USING btree ("state_id")
        `);
  }
}
