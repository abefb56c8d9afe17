import { Controller, Get, Header, HttpCode } from '@nestjs/common';
import type { ServerDefaultResultStorageResponse } from '@app/contracts';
import { invalid } from '@app/domain';

/** The Prefect server version we present; the client compares only its major version with its own. */
export const PREFECT_SERVER_VERSION = '3.9.1';
/** Prefect's REST API version (`SERVER_API_VERSION`). */
export const PREFECT_API_VERSION = '0.8.4';

@Controller()
export class ServerController {
  @Get('health')
  health(): boolean {
    return true;
  }

  // Strings are JSON documents here, as FastAPI renders them (`"3.9.1"`); the client parses them as JSON.
  @Get('version')
  @Header('content-type', 'application/json')
  version(): string {
    return JSON.stringify(PREFECT_API_VERSION);
  }

  @Get('admin/version')
  @Header('content-type', 'application/json')
  serverVersion(): string {
    return JSON.stringify(PREFECT_SERVER_VERSION);
  }

  /**
   * No result storage block is configured server-side (this server keeps no blocks), so flow runs use their
   * local default, as under a Prefect server where none was set.
   */
  @Get('admin/storage')
  resultStorage(): ServerDefaultResultStorageResponse {
    return { default_result_storage_block_id: null };
  }

  /** CSRF protection is off, as in Prefect's default; the client stops asking after this answer. */
  @Get('csrf-token')
  @HttpCode(422)
  csrfToken(): never {
    throw invalid('CSRF protection is disabled.');
  }
}
