import { parseTextSearchQuery, type LogFilter, type LogFilterTextSearch, type LogSort } from '@app/contracts';
import { Criteria, escapeLike, QueryParameters } from './criteria';
import type { OrderTerm } from './order';

/** Prefect's `LogFilterTextSearch`: case-insensitive substring terms over the message and the logger name. */
function textSearchSql(text: LogFilterTextSearch, log: string, params: QueryParameters): string {
  const { include, exclude, required } = parseTextSearchQuery(text.query);
  const searchable = `lower(${log}.message || ' ' || ${log}.name)`;
  const contains = (term: string) =>
    `${searchable} LIKE ${params.bind(`%${escapeLike(term.toLowerCase())}%`)} ESCAPE '\\'`;
  const parts: string[] = [];
  if (include.length > 0) parts.push(`(${include.map(contains).join(' OR ')})`);
  for (const term of exclude) parts.push(`NOT ${contains(term)}`);
  for (const term of required) parts.push(contains(term));
  return parts.length === 0 ? 'TRUE' : parts.join(' AND ');
}

/** Prefect's `LogFilter` over the log row aliased `log`. */
export function logFilterSql(filter: LogFilter, log: string, params: QueryParameters): string {
  const criteria = () => new Criteria(params);
  return criteria()
    .when(filter.level, (level) =>
      criteria()
        .when(level.ge_, (ge) => `${log}.level >= ${params.bind(ge)}`)
        .when(level.le_, (le) => `${log}.level <= ${params.bind(le)}`)
        .sql(),
    )
    .when(filter.timestamp, (time) =>
      criteria().atOrBefore(`${log}.timestamp`, time.before_).atOrAfter(`${log}.timestamp`, time.after_).sql(),
    )
    .when(filter.flow_run_id, (id) => criteria().anyOf(`${log}.flow_run_id`, id.any_).sql())
    .when(filter.task_run_id, (id) =>
      criteria().anyOf(`${log}.task_run_id`, id.any_).isNull(`${log}.task_run_id`, id.is_null_).sql(),
    )
    .when(filter.text, (text) => textSearchSql(text, log, params))
    .sql(filter.operator);
}

export function logOrder(sort: LogSort, log: string): OrderTerm[] {
  return [[`${log}.timestamp`, sort === 'TIMESTAMP_DESC' ? 'DESC' : 'ASC']];
}
