import { IsArray, IsDefined, IsOptional, IsString } from 'class-validator';
import { ForbidExtra } from '../body-validation';
import { IsLabels } from './validators';
import { IsObjectName } from './work-pool.dto';

@ForbidExtra()
export class FlowCreateDto {
  @IsDefined()
  @IsString()
  // Prefect's `Name`: an empty flow name is refused (a stored one breaks `prefect flow ls` for everyone).
  @IsObjectName({ nonEmptyish: false })
  name!: string;

  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  tags: string[] = [];

  @IsOptional()
  @IsLabels()
  labels?: Record<string, string | number | boolean> | null;
}

@ForbidExtra()
export class FlowUpdateDto {
  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  tags?: string[];
}
