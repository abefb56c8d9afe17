import { Controller, Get, Param } from '@nestjs/common';

/**
 * This server keeps no automations (no triggers, no actions): asked which automations relate to a resource, it
 * answers as Prefect's server does when there are none, which `prefect deployment inspect` relies on.
 */
@Controller('automations')
export class AutomationController {
  @Get('related-to/:resource_id')
  relatedTo(@Param('resource_id') _resourceId: string): never[] {
    return [];
  }
}
