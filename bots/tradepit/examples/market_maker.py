"""Example market maker: quote every instrument around a Black-Scholes fair value.

Run it:  python -m tradepit.examples.market_maker --url http://localhost:8000

Each tick it
1. reads the exchange's fair values (``GET /instruments``: each one's ``mark`` is this
   tick's fair value) of the underlyings and of the at-the-money call, whose implied
   volatility the whole chain is priced with (one request, where a ``GET /orderbook/ID``
   for each of the four cost four: a backtest's tick is mostly its requests);
2. prices every option with Black-Scholes at that volatility;
3. skews each quote against its inventory (long: lower both prices, buy less);
4. re-quotes first where it has no two-sided quote (uptime is what the role is scored
   on), then where its fair value moved most, as fast as the role's rate allows; on
   the order socket (``orders="ws"``, as in a backtest) all of a tick's quotes at once.
It never sends a quote that could break a position limit: it checks the worst case
itself, the way the exchange does (docs/rules.md, "Position limits").
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable

from tradepit import bs
from tradepit.bot import Bot, main
from tradepit.models import Instrument

SIZE = 4  # contracts a side: 22 instruments x 4 stays well inside the total limit of 200
PER_INSTRUMENT = 50  # limit_per_option and limit_per_underlying
TOTAL = 200  # total_limit
QUOTES_PER_TICK = 8  # the role's rate is 10 orders or quotes a second
EDGE = 0.045  # half spread, a share of fair value: wider than the house's 1.5%, so small
# retail orders fill against the house, and a quote left standing while the price moves
# is not crossed by the house's next quote: our two sides stay up (uptime)
STALE = 0.005  # re-quote a standing quote when its fair value moved this much


def fair_values(instruments: list[Instrument], tick: int) -> dict[str, float]:
    """Each underlying at the exchange's fair price, each option by Black-Scholes at the
    volatility implied by the exchange's fair value of the at-the-money call. The marks
    are the fair values once the first tick has priced the market (docs/protocol.md)."""
    years = bs.years_left(tick)
    marks = {i.instrument_id: i.mark for i in instruments}
    fair: dict[str, float] = {}
    for underlying in sorted({i.underlying for i in instruments}):
        spot = marks.get(underlying)
        if not spot:
            continue
        fair[underlying] = spot
        chain = [i for i in instruments if i.underlying == underlying and i.strike]
        atm = min((i for i in chain if i.kind == "call"), key=lambda i: abs((i.strike or 0) - spot))
        target = marks.get(atm.instrument_id)
        vol = bs.implied_vol(target, spot, atm.strike or spot, years, True) if target else 0.2
        for i in chain:
            fair[i.instrument_id] = bs.price(spot, i.strike or spot, years, vol, i.kind == "call")
    return fair


def widest(bid: float, ask: float) -> float:
    """The exchange's quote width rule with its default config (docs/rules.md, "Quote
    width"): 10% of the mid, and never less than 0.10 under a bid of 1.00."""
    return max((ask + bid) / 20, 0.10 if bid < 1.00 else 0.0)


def prices(fair: float, position: int) -> tuple[float, float]:
    """Bid and ask around ``fair``, moved against the position. Every price has a valid
    quote (the width rule allows a cent everywhere), so every instrument is quoted."""
    half = max(0.005, fair * EDGE)
    # long: lower both prices so we sell sooner, by up to half the half spread
    centre = fair - max(-0.5, min(0.5, position / 10)) * half
    bid = max(0.01, math.floor((centre - half) * 100) / 100)
    ask = max(bid + 0.01, math.ceil((centre + half) * 100) / 100)
    if ask - bid > widest(bid, ask) + 1e-9:  # rounding made it too wide: one cent wide
        bid = max(0.01, math.floor(centre * 100) / 100)
        ask = round(bid + 0.01, 2)
    return round(bid, 2), round(ask, 2)


def sizes(position: int) -> tuple[int, int]:
    """Buy less when long, sell less when short; never more than the limit allows."""
    bid = max(1, min(SIZE - max(position, 0), PER_INSTRUMENT - position))
    ask = max(1, min(SIZE + min(position, 0), PER_INSTRUMENT + position))
    return bid, ask


def worst_case(position: int, bid: int, ask: int) -> int:
    return max(abs(position + bid), abs(position - ask))


async def step(bot: Bot) -> None:
    s, client = bot.state, bot.client
    if s.phase not in ("pre_open", "continuous"):
        return
    instruments = (await client.instruments()).instruments
    fair = fair_values(instruments, s.tick)
    last: dict[str, float] = bot.memory.setdefault("quoted_at", {})
    two_sided = {
        iid for iid in fair if s.resting(iid, "buy") > 0 and s.resting(iid, "sell") > 0
    }  # fmt: skip
    # missing quotes first, then the ones whose fair value moved most since quoted
    moved = {i: abs(fair[i] - last.get(i, 0)) / fair[i] for i in fair}
    order = sorted((i for i in fair if i not in two_sided or moved[i] > STALE),
                   key=lambda i: (i in two_sided, -moved[i]))  # fmt: skip
    # the worst case of every instrument as it stands, to check each new quote against
    standing = {
        iid: worst_case(s.positions.get(iid, 0), s.resting(iid, "buy"), s.resting(iid, "sell"))
        for iid in fair
    }
    planned: list[tuple[str, tuple[float, float], int, int]] = []
    for iid in order[:QUOTES_PER_TICK]:
        position = s.positions.get(iid, 0)
        quote = prices(fair[iid], position)
        bid_size, ask_size = sizes(position)
        new = worst_case(position, bid_size, ask_size)
        if sum(standing.values()) - standing[iid] + new > TOTAL:
            continue  # this quote could breach the total limit: leave the old one
        # counted as placed: were it refused, the exchange checks the next against the
        # quote still standing, and refuses what would breach (POSITION_LIMIT_EXCEEDED)
        standing[iid] = new
        planned.append((iid, quote, bid_size, ask_size))

    def send(iid: str, quote: tuple[float, float], bid: int, ask: int) -> Awaitable[object]:
        return bot.attempt(client.quote(iid, quote[0], bid, quote[1], ask))

    if client.order_entry == "ws":
        # one socket delivers them to the engine in this order: send all, then wait, so
        # the tick's quotes are sequenced together (a backtest's tick costs one round trip)
        answers = await asyncio.gather(*(send(*p) for p in planned))
    else:  # separate HTTP requests could arrive in any order: one at a time
        answers = [await send(*p) for p in planned]
    for (iid, *_), answer in zip(planned, answers, strict=True):
        if answer is not None:
            last[iid] = fair[iid]


if __name__ == "__main__":
    # a fill can race a quote (the position moved after we checked), and so can a tick:
    # a new volatility regime moves fair values, and the price band with them, between
    # our read and our quote. The exchange refuses it and the next tick quotes again
    handled = {"POSITION_LIMIT_EXCEEDED", "MARKET_CLOSED", "INVALID_PRICE"}
    main("example-mm", "market_maker", step, handled=handled)
