"""The feed's per-socket frame rate limiter (mesh/feed_consumers.py::SlidingWindowLimiter)."""

from mesh.feed.limiter import SlidingWindowLimiter


def test_limiter_trips_on_sustained_rate_only():
    """21 frames/s for 5 s trips the 20/s-over-5-s limiter; 19.5 frames/s for a minute does not."""
    fast = SlidingWindowLimiter(per_second=20, window_seconds=5)
    tripped_at = next(n / 21 for n in range(21 * 10) if not fast.allow(now=n / 21))
    assert 4.7 < tripped_at < 5.0
    steady = SlidingWindowLimiter(per_second=20, window_seconds=5)
    assert all(steady.allow(now=n / 19.5) for n in range(int(19.5 * 60)))
