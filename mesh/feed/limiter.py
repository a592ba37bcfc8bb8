"""The feed's limit on client frames: a sliding window per socket."""

import time
from collections import deque


class SlidingWindowLimiter:
    """At most rate × window frames in any window-second span; the next one is refused.

    "More than 20 frames a second for 5 seconds" is more than 100 frames within 5 seconds:
    a steady 21 frames/s trips it after about 4.8 s, a burst of 100 is tolerated.
    """

    def __init__(self, *, per_second: float, window_seconds: float):
        self.window = window_seconds
        self.limit = max(1, round(per_second * window_seconds))
        self.stamps: deque[float] = deque(maxlen=self.limit)

    def allow(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        if len(self.stamps) == self.limit and now - self.stamps[0] < self.window:
            return False
        self.stamps.append(now)
        return True
