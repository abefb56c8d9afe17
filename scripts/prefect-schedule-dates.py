"""Prints the dates Prefect's own schedule classes give, for the literal tables in
libs/domain/src/schedules/schedule-dates.spec.ts.

Usage: .cache/prefect-venv/bin/python scripts/prefect-schedule-dates.py cases.json
where cases.json is a list of {"name", "schedule", "start", "n"?, "end"?, "waterfall"?: {"min_runs", "max_runs", "min_time"}}.
Each date is printed as `str(d)`, the form a scheduled run's idempotency key ends with.
"""
import asyncio, datetime as dt, json, sys
from prefect.server.schemas.schedules import IntervalSchedule, CronSchedule, RRuleSchedule
def P(s): return dt.datetime.fromisoformat(s.replace('Z','+00:00'))
def run(c):
    k = c['schedule']
    if 'interval' in k: s = IntervalSchedule(**k)
    elif 'cron' in k: s = CronSchedule(**k)
    else: s = RRuleSchedule(**k)
    start = P(c['start']); end = P(c['end']) if c.get('end') else None
    if c.get('waterfall'):
        w = c['waterfall']
        dates = []
        for d in s._get_dates_generator(n=w['max_runs'], start=start, end=end):
            dates.append(d)
            if len(dates) >= w['min_runs'] and d >= start + dt.timedelta(seconds=w['min_time']): break
        return dates
    return list(s._get_dates_generator(n=c.get('n'), start=start, end=end))
out = []
for c in json.load(open(sys.argv[1])):
    try:
        out.append({'name': c['name'], 'dates': [str(d) for d in run(c)]})
    except Exception as e:
        out.append({'name': c['name'], 'error': type(e).__name__})
print(json.dumps(out, indent=1))
