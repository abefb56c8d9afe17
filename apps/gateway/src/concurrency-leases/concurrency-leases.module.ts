import { Module } from '@nestjs/common';
import { ConcurrencyLeaseController } from './concurrency-lease.controller';
import { ConcurrencyLeaseService } from './concurrency-lease.service';

@Module({ controllers: [ConcurrencyLeaseController], providers: [ConcurrencyLeaseService] })
export class ConcurrencyLeasesModule {}
