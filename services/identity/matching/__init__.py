"""Pure record-linkage logic: validation, normalisation, comparison, scoring, blocking, EM.

Nothing here knows HTTP or the database, so the rules are unit-tested in milliseconds and
the benchmarks run exactly the code the service runs.
"""
