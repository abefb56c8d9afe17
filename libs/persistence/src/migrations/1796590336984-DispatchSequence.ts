import { MigrationInterface, QueryRunner } from 'typeorm';

export class DispatchSequence1796590336984 implements MigrationInterface {
  name = 'DispatchSequence1796590336984';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            ALTER TABLE "flow_run"
            ADD "dispatch_seq" bigint
        `);
    await queryRunner.query(`
            CREATE INDEX "ix_flow_run__published_unleased" ON "flow_run" ("work_queue_id")
            WHERE state_type = 'SCHEDULED'
                AND dispatched_state_id IS NOT NULL
                AND leased_until IS NULL
        `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            DROP INDEX "public"."ix_flow_run__published_unleased"
        `);
    await queryRunner.query(`
            ALTER TABLE "flow_run" DROP COLUMN "dispatch_seq"
        `);
  }
}
