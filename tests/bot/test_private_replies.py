"""/info's devices: a cluster's counted by machine, never with the machines' network addresses."""

from __future__ import annotations

from bot.private_replies import devices_line


def test_local_devices_are_listed_by_name() -> None:
    assert devices_line(["cuda:0", "cuda:1"]) == "cuda:0, cuda:1"
    assert devices_line([]) == "none"


def test_cluster_devices_are_counted_by_machine_without_their_addresses() -> None:
    names = ["10.8.0.2/3f9a2c:0", "10.8.0.2/3f9a2c:1", "10.8.0.3/7b1e0d:0"]
    line = devices_line(names)
    assert line == "3 on 2 machines (`3f9a2c`: 2, `7b1e0d`: 1)"
    assert "10.8.0" not in line
    assert devices_line(["10.8.0.2/3f9a2c:0"]) == "1 on 1 machine (`3f9a2c`: 1)"
