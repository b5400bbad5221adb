"""Shared test configuration: the Hypothesis profiles every suite runs under.

``dev`` keeps local runs quick, ``ci`` is deterministic and bounded (chosen automatically when
``CI`` is set), ``explore`` is bounded too (a few minutes in all) but draws new examples from the
seed it is given (``make explore`` picks a fresh one per run and prints it), ``long`` searches
deeper. Pick one with ``HYPOTHESIS_PROFILE`` or ``--hypothesis-profile``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=50, deadline=None)
settings.register_profile(
    "ci",
    max_examples=100,
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "explore",
    max_examples=60,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("long", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
