import { IsArray, IsBoolean, IsDefined, IsIn, IsOptional, IsString, IsUUID, MaxLength } from 'class-validator';
import { EmbeddedBody, ForbidExtra } from '../body-validation';
import { FILTER_OPERATORS, FilterOperator } from './filters.dto';
import {
  compose,
  enumMessage,
  IsDateTime,
  IsInt32,
  IsNestedModel,
  Limit,
  NullMeansDefault,
  Offset,
} from './validators';

/** Prefect's `LogCreate`: one line of a run's log, as the client's `APILogHandler` sends it. */
@ForbidExtra()
export class LogCreateDto {
  @IsDefined() @IsString() name!: string;
  @IsDefined() @IsInt32() level!: number;
  @IsDefined() @IsString() message!: string;
  @IsDefined() @IsDateTime() timestamp!: Date;
  @IsOptional() @IsUUID() flow_run_id?: string | null;
  @IsOptional() @IsUUID() task_run_id?: string | null;
}

export const LOG_SORTS = ['TIMESTAMP_ASC', 'TIMESTAMP_DESC'] as const;
export type LogSort = (typeof LOG_SORTS)[number];

const NestedFilter = (model: () => new () => object): PropertyDecorator => compose(IsOptional(), IsNestedModel(model));
const OptionalInt = (): PropertyDecorator => compose(IsOptional(), IsInt32());
const OptionalDateTime = (): PropertyDecorator => compose(IsOptional(), IsDateTime());
const UuidList = (): PropertyDecorator => compose(IsOptional(), IsArray(), IsUUID('all', { each: true }));

@ForbidExtra()
export class LogFilterLevel {
  @OptionalInt() ge_?: number | null;
  @OptionalInt() le_?: number | null;
}

@ForbidExtra()
export class LogFilterTimestamp {
  @OptionalDateTime() before_?: Date | null;
  @OptionalDateTime() after_?: Date | null;
}

@ForbidExtra()
export class LogFilterFlowRunId {
  @UuidList() any_?: string[] | null;
}

@ForbidExtra()
export class LogFilterTaskRunId {
  @UuidList() any_?: string[] | null;
  @IsOptional() @IsBoolean() is_null_?: boolean | null;
}

@ForbidExtra()
export class LogFilterTextSearch {
  @IsDefined() @IsString() @MaxLength(200) query!: string;
}

@ForbidExtra()
export class LogFilter {
  @IsIn(FILTER_OPERATORS, { message: enumMessage(FILTER_OPERATORS) }) operator: FilterOperator = 'and_';
  @NestedFilter(() => LogFilterLevel) level?: LogFilterLevel | null;
  @NestedFilter(() => LogFilterTimestamp) timestamp?: LogFilterTimestamp | null;
  @NestedFilter(() => LogFilterFlowRunId) flow_run_id?: LogFilterFlowRunId | null;
  @NestedFilter(() => LogFilterTaskRunId) task_run_id?: LogFilterTaskRunId | null;
  @NestedFilter(() => LogFilterTextSearch) text?: LogFilterTextSearch | null;
}

/** The body of `POST /logs/filter`. */
@EmbeddedBody()
export class LogFilterRequestDto {
  @NestedFilter(() => LogFilter) logs?: LogFilter | null;
  @NullMeansDefault('TIMESTAMP_ASC') @IsIn(LOG_SORTS, { message: enumMessage(LOG_SORTS) }) sort: LogSort =
    'TIMESTAMP_ASC';
  @Offset() offset = 0;
  @Limit() limit?: number | null;
}
