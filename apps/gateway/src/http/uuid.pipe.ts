import { Injectable, NotFoundException, PipeTransform } from '@nestjs/common';

// Starlette's `uuid` path convertor.
const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/**
 * Path ids of routes Prefect declares as `{id:uuid}`: a segment that is not a UUID does not match the route
 * at all, so the answer is the one for an unmatched route (404 "Not Found"), not a 422. Valid ids come out
 * canonical and lowercase.
 */
@Injectable()
export class UuidPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!UUID.test(value)) throw new NotFoundException();
    const hex = value.replace(/-/g, '').toLowerCase();
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
}
