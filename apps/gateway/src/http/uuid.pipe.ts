import { validationFailed } from '@app/domain';
import { ArgumentMetadata, Injectable, PipeTransform } from '@nestjs/common';

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** Path UUIDs as FastAPI parses them: 422 `uuid_parsing` when malformed, canonical lowercase otherwise. */
@Injectable()
export class UuidPipe implements PipeTransform<string, string> {
  transform(value: string, metadata: ArgumentMetadata): string {
    if (!UUID.test(value)) {
      throw validationFailed([
        {
          type: 'uuid_parsing',
          loc: [metadata.type === 'param' ? 'path' : metadata.type, metadata.data ?? ''],
          msg: 'Input should be a valid UUID, invalid character: expected an optional prefix of `urn:uuid:` followed by [0-9a-fA-F-]',
          input: value,
        },
      ]);
    }
    const hex = value.replace(/-/g, '').toLowerCase();
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
}
