"""Which requests came through the proxy's socket (intake.web.proxies): a table."""

from __future__ import annotations

import pytest

from intake.web.proxies import came_over_tcp


@pytest.mark.parametrize(
    ("remote_addr", "over_tcp"),
    [
        ("127.0.0.1", True),
        ("203.0.113.7", True),
        ("::1", True),
        ("fe80::1%eth0", True),  # a scoped IPv6 address
        ("::ffff:127.0.0.1", True),
        ("", False),  # gunicorn, for a request through its Unix socket
        ("/run/bl-intake/web.sock", False),
    ],
)
def test_came_over_tcp(remote_addr, over_tcp):
    assert came_over_tcp({"REMOTE_ADDR": remote_addr}) is over_tcp


def test_no_remote_addr_at_all_is_no_tcp_peer():
    assert came_over_tcp({}) is False
