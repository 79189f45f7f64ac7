"""The quote width rule (engine/quote_width.py): one definition for the core's quote
admission and the scorer's good quote.

- at every fair value, on every instrument, some quote is inside the price band, is
  accepted by the core's quote rule and counts as a good quote for coverage;
- on any quote and any valid rule the two agree;
- ``gap`` finds exactly the prices no one-tick quote can serve, and the config refuses a
  rule with such a price.
"""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import config as configmod
from engine import instruments as instrumentsmod
from engine import quote_width
from engine.config import QuotesConfig, QuoteWidth
from engine.core import rules
from gateway.scoring import kpis
from gateway.scoring.team_score import Quotes, Resting

CONFIG = configmod.Config()
INSTRUMENTS = instrumentsmod.build(CONFIG)
MM = CONFIG.roles["market_maker"]


def good(bid: int, ask: int, rule: QuotesConfig, iid: str = "SPY_460_CALL") -> bool:
    """The scorer's verdict on one instrument quoted bid/ask, one contract a side."""
    quotes = Quotes()
    quotes.add(Resting(iid, True, bid, 1))
    quotes.add(Resting(iid, False, ask, 1))
    return kpis.covered(quotes, {iid: 1}, rule, 1) == 1


def admitted(bid: int, ask: int, config: configmod.Config) -> bool:
    return rules.quote_fields(bid, 1, ask, 1, MM, config) is None


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(sorted(INSTRUMENTS)), st.integers(min_value=0, max_value=2_000_000))
def test_every_instrument_can_be_covered_at_every_fair_value(iid: str, fair: int) -> None:
    instrument = INSTRUMENTS[iid]
    if not instrument.is_option:
        fair = max(fair, 100)  # an underlying's band is 20% of it: a cent has none
    band = rules.band(CONFIG, instrument, fair)
    assert band is not None
    bid = band[0] if fair < band[0] else fair  # the narrowest quote at fair, in the band
    ask = bid + CONFIG.instruments.tick
    assert rules.in_band(bid, band)
    assert rules.in_band(ask, band)
    assert admitted(bid, ask, CONFIG)
    assert good(bid, ask, CONFIG.quotes, iid)


rows = st.lists(
    st.tuples(st.integers(min_value=1, max_value=400), st.integers(min_value=0, max_value=40)),
    max_size=3,
).map(
    lambda pairs: tuple(
        QuoteWidth(below=below, spread=spread) for below, spread in sorted(dict(pairs).items())
    )
)
valid_rules = st.builds(
    QuotesConfig, max_spread_bps=st.integers(min_value=1000, max_value=5000), widths=rows
).filter(lambda rule: quote_width.gap(rule, 1) is None)


@settings(max_examples=500, deadline=None)
@given(
    valid_rules,
    st.integers(min_value=1, max_value=1_000),
    st.integers(min_value=-50, max_value=300),
)
def test_the_core_and_the_scorer_agree_on_any_quote(
    rule: QuotesConfig, bid: int, width: int
) -> None:
    config = msgspec.structs.replace(CONFIG, quotes=rule)
    ask = bid + width
    assert admitted(bid, ask, config) == good(bid, ask, rule)
    # and both say what the rule says, written out: the larger of the share and the row
    share = (ask - bid) * 20_000 <= rule.max_spread_bps * (ask + bid)
    row = next((r.spread for r in rule.widths if bid < r.below), 0)
    assert admitted(bid, ask, config) == (ask > bid and (share or ask - bid <= row))


@settings(max_examples=300, deadline=None)
@given(
    st.builds(QuotesConfig, max_spread_bps=st.integers(min_value=0, max_value=8000), widths=rows),
    st.sampled_from([1, 5]),
)
def test_gap_is_the_first_price_without_a_one_tick_quote(rule: QuotesConfig, tick: int) -> None:
    found = quote_width.gap(rule, tick)
    # beyond 20_000 / bps ticks the share of the mid alone allows a tick: search below it
    limit = max(row.below for row in rule.widths) if rule.widths else 0
    top = limit + 20_000 * tick // max(rule.max_spread_bps, 1) + 2 * tick
    refused = (b for b in range(tick, top, tick) if not quote_width.allows(b, b + tick, rule))
    first = next(refused, None)
    if rule.max_spread_bps == 0 and first is None:
        first = max(-(-limit // tick) * tick, tick)  # no share: every price past the table
    assert found == first


def test_the_default_rule_is_ten_percent_with_ten_cents_under_a_dollar() -> None:
    rule = CONFIG.quotes
    assert (rule.max_spread_bps, rule.widths) == (1000, (QuoteWidth(below=100, spread=10),))
    assert quote_width.allows(2375, 2625, rule)  # mid 25.00: 2.50 is 10%
    assert not quote_width.allows(2370, 2630, rule)
    assert quote_width.allows(5, 6, rule)  # the option near 0.05 of issue 32
    assert quote_width.widest(99, 109, rule) == 10
    assert quote_width.widest(100, 110, rule) == 10  # the share takes over at 1.00


def test_the_config_refuses_a_rule_that_leaves_a_price_unquotable() -> None:
    # 0.5% of the mid allows a cent only from a bid of 2.00: 1.00-1.99 is a hole
    narrow = {"max_spread_bps": 50, "widths": [{"below": 100, "spread": 10}]}
    with pytest.raises(configmod.ConfigError, match=r"bid of 100 cents.*\$\.quotes\.widths"):
        configmod.load(None, quotes=narrow, house={"enabled": False})
    with pytest.raises(configmod.ConfigError, match=r"bid of 1 cents"):
        configmod.load(None, quotes={"widths": []})  # ten percent alone: issue 32
    with pytest.raises(configmod.ConfigError, match=r"widths\[1\]\.below"):
        configmod.load(
            None, quotes={"widths": [{"below": 100, "spread": 10}, {"below": 50, "spread": 5}]}
        )
    with pytest.raises(configmod.ConfigError, match=r"house quotes up to 10%"):
        configmod.load(None, quotes={"max_spread_bps": 500})
    assert configmod.load(None, quotes={"max_spread_bps": 500}, house={"enabled": False})


def test_the_retired_scoring_key_is_refused_in_a_file_but_read_from_a_log() -> None:
    with pytest.raises(configmod.ConfigError, match=r"retired, set \[quotes\] max_spread_bps"):
        configmod.load(None, scoring={"mm_max_spread_bps": 500})
    # a log recorded before [quotes] names the key and has no [quotes]: it decodes
    old = msgspec.json.decode(configmod.canonical_json(CONFIG))
    del old["quotes"]
    assert old["scoring"]["mm_max_spread_bps"] == 1000
    assert configmod.from_json(msgspec.json.encode(old).decode()).quotes == CONFIG.quotes
