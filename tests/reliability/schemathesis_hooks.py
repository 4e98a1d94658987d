"""Loaded by the Schemathesis CLI (SCHEMATHESIS_HOOKS) in the live run
(tests/reliability/test_schemathesis_live.py): the CUSCAR endpoint takes raw EDIFACT text, sent
as generated strings like text/plain (the in-process test registers the same alias)."""

import schemathesis

schemathesis.serializer.alias("application/edifact", "text/plain")
