"""Hypothesis profiles for the property tests.

"ci" (the default) is reproducible and fast: the same examples on every run, no example
database. "dev" explores more and differently each run: `HYPOTHESIS_PROFILE=dev python -m pytest`.
"""

import os

from hypothesis import HealthCheck, settings

# NOTE: deadline=None because a gradcheck's run time depends on the drawn shapes, and a slow
# first call (imports, caches) would otherwise be reported as a flaky failure.
settings.register_profile(
    "ci",
    deadline=None,
    max_examples=50,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=200)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
