"""deploy/state.py and netns.Host: the cluster's record and its addresses (no root needed)."""

import ipaddress
import subprocess

from deploy import netns
from deploy.state import State

BENCHMARK_NETWORK = ipaddress.ip_network("198.18.0.0/15")


def test_each_host_gets_its_own_30_inside_the_benchmark_range():
    seen = set()
    for net in (0, 8, 255):
        for index in (1, 2):
            host = netns.Host(net=net, index=index)
            pair = ipaddress.ip_interface(f"{host.gateway}/30").network
            assert ipaddress.ip_interface(f"{host.address}/30").network == pair
            assert pair.subnet_of(BENCHMARK_NETWORK)  # type: ignore[arg-type]
            assert pair not in seen
            seen.add(pair)
            assert len(host.veth_ns) <= 15  # the kernel's interface name limit


def test_stop_signals_recorded_processes_and_removes_the_record(tmp_path):
    state = State(tmp_path)
    state.begin(net=250, port=1)
    process = subprocess.Popen(["sleep", "30"], start_new_session=True)
    state.add_process("sleeper", process.pid)
    assert state.pid("sleeper") == process.pid
    State(tmp_path).stop_all(grace=5)
    assert process.wait(timeout=5) != 0
    assert not state.path.exists()


def test_stop_leaves_alone_a_pid_that_now_belongs_to_another_program(tmp_path):
    state = State(tmp_path)
    state.begin(net=250, port=1)
    process = subprocess.Popen(["sleep", "30"], start_new_session=True)
    state.add_process("reused", process.pid)
    state.data["processes"][0]["start"] = "1"  # as if the recorded process had exited
    state._save()
    try:
        State(tmp_path).stop_all(grace=1)
        assert process.poll() is None
    finally:
        process.kill()
        process.wait()
