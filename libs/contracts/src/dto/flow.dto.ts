import { IsArray, IsDefined, IsOptional, IsString } from 'class-validator';
import { ForbidExtra } from '../body-validation';
import { IsLabels, IsPrefectName } from './validators';

@ForbidExtra()
export class FlowCreateDto {
  @IsDefined()
  @IsString()
  @IsPrefectName()
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
