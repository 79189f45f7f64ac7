"""``ClientLimit``: registrations per client address (issue 38, item 7), by the numbers."""

from __future__ import annotations

from gateway.service.registration import ClientLimit, client_of


def test_a_burst_of_per_minute_then_one_every_60_over_per_minute_seconds() -> None:
    limit = ClientLimit(per_minute=3)
    assert [limit.take("10.0.0.1", 0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limit.take("10.0.0.1", 0.0) == 20.0  # the next token in 60 / 3 s
    assert limit.take("10.0.0.2", 0.0) == 0.0  # another address has its own
    assert round(limit.take("10.0.0.1", 19.0), 9) == 1.0
    assert limit.take("10.0.0.1", 20.0) == 0.0


def test_an_ipv6_host_is_its_64_and_no_limit_is_0() -> None:
    assert client_of("2001:db8::1") == client_of("2001:db8::ffff:1") == "2001:db8::/64"
    assert client_of("2001:db8:0:1::1") != client_of("2001:db8::1")
    assert client_of("::ffff:10.0.0.1") == "10.0.0.1"
    assert client_of("") == ""
    limit = ClientLimit(per_minute=1)
    assert limit.take("2001:db8::1", 0.0) == 0.0
    assert limit.take("2001:db8::2", 0.0) == 60.0
    unlimited = ClientLimit(per_minute=0)
    assert all(unlimited.take("10.0.0.1", 0.0) == 0.0 for _ in range(1000))


def test_full_buckets_are_swept_out() -> None:
    limit = ClientLimit(per_minute=2)
    for i in range(ClientLimit.SWEEP + 1):
        limit.take(f"10.1.{i // 256}.{i % 256}", 0.0)
    limit.take("10.9.9.9", 120.0)  # two minutes on: every earlier bucket is full again
    assert len(limit._buckets) <= 2
