"""What the core and replay rely on: purity, determinism across processes, sane values."""

from __future__ import annotations

import ast
import hashlib
import os
from pathlib import Path

import msgspec
import pytest

from engine.config import load
from engine.instruments import build
from engine.market import TickOutput
from engine.market.simulator import Market
from tests.market.views import FlatView
from tests.procs import python_output

ROOT = Path(__file__).resolve().parents[2]
MARKET = ROOT / "engine" / "market"
IMPURE = {"time", "datetime", "os", "socket", "threading", "trio", "uuid", "secrets", "numpy"}


def outputs(ticks: int, seed: int = 1, **overrides: object) -> list[TickOutput]:
    config = load(None, **overrides)
    m = Market(config, seed, build(config))
    return [m.on_tick(t, "continuous", FlatView()) for t in range(1, ticks + 1)]


@pytest.mark.parametrize("path", sorted(MARKET.glob("*.py")), ids=lambda p: p.name)
def test_market_modules_read_no_clock_and_no_global_random(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = {alias.name.split(".")[0] for alias in node.names}
            assert not names & (IMPURE | {"random"}), f"{path.name}: import {names}"
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            root = node.module.split(".")[0]
            assert root not in IMPURE, f"{path.name}: from {node.module}"
            if root == "random":  # the class only: every draw goes through an owned instance
                assert [a.name for a in node.names] == ["Random"], path.name


DIGEST = """
import hashlib, msgspec
from engine.config import load
from engine.instruments import build
from engine.market.simulator import Market
from tests.market.views import FlatView
from tests.procs import python_output
config = load(None, news={"mean_gap_sim_seconds": 300.0})
m = Market(config, 77, build(config))
outs = [m.on_tick(t, "continuous", FlatView()) for t in range(1, 301)]
print(hashlib.sha256(msgspec.msgpack.encode(outs)).hexdigest())
"""


def test_same_seed_same_bytes_in_processes_with_different_hash_seeds() -> None:
    digests = set()
    for hash_seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        digests.add(python_output("-c", DIGEST, env=env).strip())
    assert len(digests) == 1
    here = outputs(300, seed=77, news={"mean_gap_sim_seconds": 300.0})
    assert digests == {hashlib.sha256(msgspec.msgpack.encode(here)).hexdigest()}


def test_fair_values_obey_parity_and_stay_at_least_a_cent() -> None:
    config = load(None)
    instruments = build(config)
    for out in outputs(400, seed=3, news={"mean_gap_sim_seconds": 1200.0}):
        assert all(value >= 1 for value in out.fair.values())
        assert out.fair["SPX"] == out.spx
        assert out.fair["SPY"] == out.spy
        for iid, inst in instruments.items():
            if inst.kind != "call" or inst.strike is None:
                continue
            put = iid.replace("_CALL", "_PUT")
            spot = out.fair[inst.underlying]
            # r = 0: C - P = S - K, up to rounding and the one-cent floor of a worthless side
            assert out.fair[iid] - out.fair[put] == pytest.approx(spot - inst.strike, abs=3)


def test_options_past_expiry_are_worth_at_least_their_intrinsic_value() -> None:
    config = load(None)
    instruments = build(config)
    for out in outputs(300, seed=4, instruments={"expiry_days": 0.05}):
        for iid, inst in instruments.items():
            if inst.strike is None:
                continue
            spot = out.fair[inst.underlying]
            intrinsic = spot - inst.strike if inst.kind == "call" else inst.strike - spot
            assert out.fair[iid] >= max(intrinsic, 1) - 1


def test_house_quotes_bracket_fair_value_or_are_withdrawn() -> None:
    ticks = outputs(3_000, seed=5, retail={"enabled": False}, instruments={"expiry_days": 1.0})
    cheap = 0
    for out in ticks:
        quoted = {q.instrument_id: q for q in out.quotes}
        assert set(quoted) == {iid for iid, value in out.fair.items() if value >= 10}
        assert set(out.withdrawn) == {iid for iid, value in out.fair.items() if value < 10}
        for iid, q in quoted.items():
            assert q.bid_price <= out.fair[iid] < q.ask_price
            assert (q.ask_price - q.bid_price) * 20 <= q.ask_price + q.bid_price
            assert q.team_id == "TEAM_HOUSE"
        cheap += len(out.withdrawn)
    assert cheap > 0  # options expiring out of the money get there
