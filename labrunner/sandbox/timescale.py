"""One scale for every simulated wait: a dropped connection's timeout, ``sleep`` in a container,
a probe's initial delay, a restart's back-off. ``LABRUNNER_SANDBOX_TIME_SCALE=0.05`` makes them a
twentieth as long (the test suite); the default is real time."""

from __future__ import annotations

import os

TIME_SCALE = float(os.environ.get("LABRUNNER_SANDBOX_TIME_SCALE", "1") or 1)
