"""The benchmark harness's own arithmetic: percentiles and /proc parsing (no server here)."""

from bench import harness


def test_percentile_interpolates_between_ranks():
    """p50 of 1..4 lies halfway between the two middle values; p0/p100 are the extremes."""
    values = [4.0, 1.0, 3.0, 2.0]
    assert harness.percentile(values, 50) == 2.5
    assert harness.percentile(values, 0) == 1.0
    assert harness.percentile(values, 100) == 4.0


def test_percentile_of_nothing_is_none():
    """An empty sample has no percentile (the table shows n/a, never a crash)."""
    assert harness.percentile([], 99) is None


def test_summary_ms_converts_seconds_to_milliseconds():
    """summary_ms() reports milliseconds rounded to 0.01 and the sample count."""
    summary = harness.summary_ms([0.001, 0.002, 0.003])
    assert summary["n"] == 3
    assert summary["p50_ms"] == 2.0
    assert summary["max_ms"] == 3.0


def test_parse_status_reads_rss_and_threads():
    """VmRSS (kB) and Threads come out of /proc/PID/status text."""
    text = "Name:\tdaphne\nVmHWM:\t  150000 kB\nVmRSS:\t  123456 kB\nThreads:\t7\n"
    assert harness.parse_status(text) == {"VmHWM": 150000, "VmRSS": 123456, "Threads": 7}


def test_parse_stat_cpu_ticks_survives_spaces_in_the_command_name():
    """utime+stime are fields 14-15 even when the comm field contains spaces and parens."""
    fields = ["S"] + [str(i) for i in range(4, 14)] + ["250", "50"] + ["0"] * 30
    text = "1234 (python (x) y) " + " ".join(fields)
    assert harness.parse_stat_cpu_ticks(text) == 300


def test_read_proc_of_this_process():
    """Reading our own /proc entry gives a positive RSS, thread count and fd count."""
    import os

    reading = harness.read_proc(os.getpid())
    assert reading.rss_mb > 0
    assert reading.threads >= 1
    assert reading.fds > 0
