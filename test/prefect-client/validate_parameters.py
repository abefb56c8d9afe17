"""Runs Prefect's own parameter validation over a JSON list of cases read from stdin; prints each verdict."""

import json
import sys

from prefect.utilities.schema_tools.validation import ValidationError, validate

verdicts = []
for case in json.load(sys.stdin):
    try:
        validate(
            case["values"],
            case["schema"],
            raise_on_error=True,
            ignore_required=case["ignoreRequired"],
        )
        verdicts.append(None)
    except ValidationError as error:
        verdicts.append(str(error))
print(json.dumps(verdicts))
