"""Simulated hosts for the local cluster: network namespaces joined to the root one by a veth
pair each, addressed from 198.18.0.0/15 (reserved for benchmark networks), with nothing
routed beyond the pair (docs/deployment.md, "The local cluster").

Host i of cluster net N has the /30 198.18.N.(4i-4): the root side's veth is .4i-3 (the
host's gateway, where the cluster's forwarders to PostgreSQL and Redis listen) and the
namespace's is .4i-2 (where its daphne processes listen). No default route is set and IP
forwarding is left as it is, so a namespace reaches only its gateway address.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass

IP = "/usr/sbin/ip" if os.path.exists("/usr/sbin/ip") else "ip"


@dataclass(frozen=True)
class Host:
    net: int
    index: int

    @property
    def namespace(self) -> str:
        return f"makima{self.net}-h{self.index}"

    @property
    def veth_root(self) -> str:
        return f"mk{self.net}h{self.index}"

    @property
    def veth_ns(self) -> str:
        return f"mk{self.net}h{self.index}n"

    @property
    def gateway(self) -> str:
        return f"198.18.{self.net}.{4 * self.index - 3}"

    @property
    def address(self) -> str:
        return f"198.18.{self.net}.{4 * self.index - 2}"

    def exec_prefix(self) -> list[str]:
        """Prefix a command with this to run it inside the host's namespace."""
        return [IP, "netns", "exec", self.namespace]


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([IP, *args], capture_output=True, text=True, check=False)
    if check and result.returncode:
        raise RuntimeError(f"ip {' '.join(args)}: {result.stderr.strip()}")
    return result


def create(host: Host) -> None:
    """The namespace, its veth pair and their addresses (raises if any part exists)."""
    _ip("netns", "add", host.namespace)
    _ip("link", "add", host.veth_root, "type", "veth", "peer", "name", host.veth_ns)
    _ip("link", "set", host.veth_ns, "netns", host.namespace)
    _ip("addr", "add", f"{host.gateway}/30", "dev", host.veth_root)
    _ip("link", "set", host.veth_root, "up")
    _ip("-n", host.namespace, "addr", "add", f"{host.address}/30", "dev", host.veth_ns)
    _ip("-n", host.namespace, "link", "set", host.veth_ns, "up")
    _ip("-n", host.namespace, "link", "set", "lo", "up")


def destroy(host: Host) -> None:
    """Remove the veth pair (its peer goes with it) and the namespace; missing parts are fine."""
    _ip("link", "del", host.veth_root, check=False)
    _ip("netns", "del", host.namespace, check=False)


def exists(host: Host) -> bool:
    namespaces = _ip("netns", "list", check=False).stdout.split()
    links = _ip("-br", "link", check=False).stdout
    return host.namespace in namespaces or f"{host.veth_root} " in links or host.veth_root in links


def unavailable_reason() -> str | None:
    """Why namespaces cannot be made here (None when they can): checked by making one."""
    if os.geteuid() != 0:
        return "network namespaces need root (ip netns add)"
    if shutil.which(IP) is None:
        return "iproute2's `ip` is missing"
    probe = Host(net=255, index=63)
    try:
        destroy(probe)
        create(probe)
    except RuntimeError as error:
        return f"cannot make a network namespace with a veth pair here: {error}"
    finally:
        destroy(probe)
    return None
