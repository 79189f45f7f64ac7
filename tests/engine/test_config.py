from __future__ import annotations

from pathlib import Path

import pytest

from engine import config as configmod
from engine.instruments import build


def test_empty_file_is_the_embedded_defaults(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("")
    assert configmod.load(path) == configmod.Config()


def test_spec_defaults() -> None:
    c = configmod.load()
    assert c.roles["market_maker"].maker_fee == 2
    assert c.roles["hedge_fund"].taker_fee == -2
    assert c.roles["retail"].total_limit == 50
    assert c.regimes.vols == {"low": 0.10, "medium": 0.20, "high": 0.50}
    instruments = build(c)
    assert len(instruments) == 22
    assert "SPX_4500_CALL" in instruments
    assert "SPY_440_PUT" in instruments


def test_one_key_of_a_role_overrides_only_that_key(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[roles.hedge_fund]\nmax_order_size = 7\n")
    c = configmod.load(path)
    assert c.roles["hedge_fund"].max_order_size == 7
    assert c.roles["hedge_fund"].total_limit == 500


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[roles.hedge_fund]\nmax_order_size = 'big'\n", "$.roles[...].max_order_size"),
        ("[gateway]\nprot = 1\n", "unknown field `prot` - at `$.gateway`"),
        ("[regimes.transitions]\nlow = [0.5, 0.2, 0.2]\n", "$.regimes.transitions.low"),
        ("[schedule]\ntick_seconds = 0\n", "$.schedule.tick_seconds"),
        ("[log]\nfsync = 'sometimes'\n", "$.log.fsync"),
        ("[schedule]\ntimezone = 'Mars/Olympus'\n", "unknown time zone - at `$.schedule.timezone`"),
        ("[schedule]\nopen_time = '9h30'\n", "expected HH:MM - at `$.schedule.open_time`"),
        ("[schedule]\nclose_time = '09:00'\n", "after open_time - at `$.schedule.close_time`"),
        ("not toml [", "not valid TOML"),
    ],
)
def test_a_bad_config_names_the_key_path(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(configmod.ConfigError) as info:
        configmod.load(path)
    assert message in str(info.value)


def test_competition_profile_fills_its_schedule(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[schedule]\nprofile = 'competition'\n")
    s = configmod.load(path).schedule
    assert (s.tick_seconds, s.pre_open_ticks + s.auction_ticks + s.continuous_ticks) == (300.0, 66)


def test_canonical_json_round_trips_and_hash_is_stable() -> None:
    c = configmod.load()
    assert configmod.from_json(configmod.canonical_json(c)) == c
    assert configmod.config_hash(c) == configmod.config_hash(configmod.load())
    assert configmod.config_hash(c) != configmod.config_hash(
        configmod.load(None, house={"size": 3})
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[scoring]\nmm_min_uptime = 1.5\n", "at `$.scoring.mm_min_uptime`"),
        ("[scoring]\nhf_delta_penalty = -1\n", "at `$.scoring.hf_delta_penalty`"),
        ("[scoring]\nphases = ['lunch']\n", "at `$.scoring.phases`"),
        ("[scoring]\nmm_instruments = ['SPX_9999_CALL']\n", "at `$.scoring.mm_instruments`"),
        ("[scoring]\nfamily_weights = {SPY = 0}\n", "at `$.scoring.family_weights.SPY`"),
        ("[scoring]\narb_max_ratio = 0.5\n", "at `$.scoring.arb_max_ratio`"),
        ("[scoring]\npublic_leaderboard = 'yes'\n", "$.scoring.public_leaderboard"),
        ("[scoring]\nmm_window_seconds = 0\n", "at `$.scoring.mm_window_seconds`"),
    ],
)
def test_a_bad_scoring_value_names_its_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(configmod.ConfigError) as info:
        configmod.load(path)
    assert message in str(info.value)


def test_scoring_defaults_are_specs() -> None:
    s = configmod.load().scoring
    assert s.public_leaderboard is True
    assert (s.mm_min_uptime, s.mm_max_spread_bps, s.mm_min_size) == (0.80, 1000, 1)
    assert (s.mm_window_seconds, s.mm_inventory_limit, s.hf_delta_limit) == (300.0, 50, 50.0)
    assert (s.arb_max_ratio, s.arb_signal_ticks, s.arb_bonus_ticks) == (2.0, 3, 1)
    assert s.family_weights == {"SPX": 1.0, "SPY": 0.1}
