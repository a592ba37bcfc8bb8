"""What a schemathesis run reached, per operation, from its NDJSON event log.

`count(path)` reads the log (`schemathesis run --report ndjson`) and counts, for each
operation, the requests it sent and how many answered 2xx, 4xx and 5xx. `print_table` prints
them; `unreached` names every operation with no 2xx at all, which fuzz/run.py turns into a
failed run: an operation that never once succeeded had its logic never exercised.
"""

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Reached:
    requests: int = 0
    ok: int = 0  # 2xx
    client_errors: int = 0  # 4xx
    server_errors: int = 0  # 5xx


def count(path: Path) -> dict[str, Reached]:
    reached: dict[str, Reached] = defaultdict(Reached)
    with path.open() as events:
        for line in events:
            event = json.loads(line)
            finished = event.get("ScenarioFinished")
            if not finished:
                continue
            recorder = finished["recorder"]
            cases = recorder.get("cases") or {}
            for case_id, interaction in (recorder.get("interactions") or {}).items():
                response = interaction.get("response")
                case = cases.get(case_id, {}).get("value")
                if response is None or case is None:
                    continue
                entry = reached[f"{case['method']} {case['path']}"]
                status = response["status_code"]
                entry.requests += 1
                entry.ok += 200 <= status < 300
                entry.client_errors += 400 <= status < 500
                entry.server_errors += status >= 500
    return dict(reached)


def unreached(reached: dict[str, Reached], operations: list[str]) -> list[str]:
    return [operation for operation in operations if reached.get(operation, Reached()).ok == 0]


def print_table(reached: dict[str, Reached], operations: list[str]) -> None:
    width = max(len(operation) for operation in operations)
    print(f"\n{'operation':<{width}}  requests      2xx      4xx   5xx")
    for operation in operations:
        entry = reached.get(operation, Reached())
        print(
            f"{operation:<{width}}  {entry.requests:>8} {entry.ok:>8} "
            f"{entry.client_errors:>8} {entry.server_errors:>5}"
        )
