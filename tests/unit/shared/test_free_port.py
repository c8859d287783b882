"""Ports for the servers a test or `filet up` starts: free, distinct, and never one the kernel may give away."""

from __future__ import annotations

import socket

from filet.embedded import _ephemeral_range_start, free_port


def test_ports_handed_out_are_free_distinct_and_below_the_range_of_outgoing_connections() -> None:
    ports = [free_port() for _ in range(50)]

    assert len(set(ports)) == 50
    assert all(1024 <= port < _ephemeral_range_start() for port in ports)
    for port in ports[:5]:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))  # raises if it was not free
