"""The scorer: a pure fold of log records into every team's score.

Theory of operation
-------------------
docs/scoring.md: every figure is a pure fold of the log, so the live server, a replay at
any seq and the final results agree exactly. ``Scorer.apply(record)`` folds one record;
the gateway's projection calls it for every record it folds, ``replay inspect`` folds to
a seq, ``tradepit results`` to the end. No I/O, no clock, no randomness.

Accounts follow the trades (cash with fees, positions, average cost for realised P&L).
Marks are the simulation's fair values that the engine records each tick in
``UnderlyingPrices.fair`` (with ``delta_ppm`` for the portfolio delta), never a trade
price, so a team cannot move its own marks. An instrument not yet marked is carried at
cost. Self-trades (maker and taker the same team) change nothing but count no volume.

A *tick sample* happens at each ``UnderlyingPrices`` (the tick's marks, the positions
held into the tick, the quotes resting at its start): P&L statistics for every tick;
coverage, penalties and the rolling uptime windows only on ticks whose phase is in
``[scoring] phases``. ``apply`` returns True after a sample: the projection then sends
each team its ``score_update``. P&L and score between samples are live (at the last
marks); the KPIs are as of the last sample.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from engine import config as configmod
from engine import instruments as instrumentsmod
from engine.order_types import RESTING
from engine.records import (
    AdminApplied,
    ForkSession,
    MarketData,
    News,
    OrderAccepted,
    OrderCancelled,
    StartSession,
    TeamRegistered,
    TickBudgetExpired,
    TickStarted,
    TrackingSignal,
    Trade,
    UnderlyingPrices,
    VolatilitySignal,
)
from gateway.scoring import kpis
from gateway.scoring.team_score import Resting, Samples, Series, TeamScore

NAN = math.nan


def _exact(value: float) -> Fraction:
    """A config decimal as the exact fraction it was written as (0.8 is 4/5, not binary)."""
    return Fraction(repr(value))


class Scorer:
    def __init__(self, config: configmod.Config | None = None) -> None:
        self.session_id: str | None = None
        self.seed: int | None = None
        self.config_hash: str | None = None
        self.seq = 0
        self.tick_number = 0
        self.phase = "closed"
        self.sample_seq = 0  # the seq of the last tick sample
        self.teams: dict[str, TeamScore] = {}
        self.samples = Samples()  # every team's rows' tick and seq, kept once
        self.marks: dict[str, int] = {}
        self.deltas: dict[str, float] = {}
        self.total_volume = 0
        self.signal_ticks: deque[int] = deque(maxlen=4)  # recent tracking_error ticks
        self.forecast_tick: int | None = None
        self.fork: ForkSession | None = None
        self.late_ticks: dict[str, int] = {}  # lockstep: ticks a team's budget ran out
        self._configure(config or configmod.Config())
        self._handlers: dict[type, Callable[[Any], bool]] = {
            Trade: self._trade,
            OrderAccepted: self._accepted,
            OrderCancelled: self._cancelled,
            MarketData: self._market_data,
            UnderlyingPrices: self._sample,
            TickStarted: self._tick,
            TeamRegistered: self._registered,
            TrackingSignal: self._tracking,
            VolatilitySignal: self._forecast,
            News: self._news,
            AdminApplied: self._admin,
            StartSession: self._start,
            ForkSession: self._forked,
            TickBudgetExpired: self._late,
        }

    def _configure(self, config: configmod.Config) -> None:
        self.config = config
        s = self.settings = config.scoring
        self.instruments = instrumentsmod.build(config)
        self.multiplier = {iid: i.multiplier for iid, i in self.instruments.items()}
        families = [u.id for u in config.instruments.underlyings]
        self.weights = {f: s.family_weights.get(f, 1.0) for f in families}
        self.exact_weights = {f: _exact(w) for f, w in self.weights.items()}
        self.max_ratio = _exact(s.arb_max_ratio)
        self.min_uptime = _exact(s.mm_min_uptime)
        cover = s.mm_instruments or tuple(self.instruments)
        self.cover = dict.fromkeys(cover, 1)
        self.window_ticks = max(
            1, round(s.mm_window_seconds / config.schedule.sim_seconds_per_tick)
        )
        self.kpi_phases = frozenset(s.phases)
        self.quote_rule = config.quotes  # the exchange's own quote width rule

    # ------------------------------------------------------------------ the fold

    def apply(self, record: Any) -> bool:
        """Fold one record; True when it was a tick sample (a score_update is due)."""
        seq = record.seq
        if seq:
            if seq <= self.seq:
                return False
            self.seq = seq
        handler = self._handlers.get(type(record))
        return handler(record) if handler is not None else False

    def _start(self, r: StartSession) -> bool:
        self.session_id, self.seed, self.config_hash = r.session_id, r.seed, r.config_hash
        self._configure(configmod.from_json(r.config))
        return False

    def _forked(self, r: ForkSession) -> bool:
        self.session_id, self.fork = r.session_id, r
        return False

    def _late(self, r: TickBudgetExpired) -> bool:
        for team_id in r.team_ids:
            self.late_ticks[team_id] = self.late_ticks.get(team_id, 0) + 1
        return False

    def _registered(self, r: TeamRegistered) -> bool:
        if r.api_key_hash:  # a bot; the simulated participants are not competitors
            self.teams[r.team_id] = TeamScore(
                r.team_id, r.team_name, r.role, r.seq, series=Series(self.samples)
            )
        return False

    def _admin(self, r: AdminApplied) -> bool:
        if r.action == "disable_team" and r.team_id in self.teams:
            self.teams[r.team_id].disabled = True
        elif r.action == "enable_team" and r.team_id in self.teams:
            self.teams[r.team_id].disabled = False
        return False

    def _tick(self, r: TickStarted) -> bool:
        self.tick_number, self.phase = r.tick_number, r.phase
        return False

    def _tracking(self, r: TrackingSignal) -> bool:
        self.signal_ticks.append(r.tick_number)
        return False

    def _forecast(self, r: VolatilitySignal) -> bool:
        self.forecast_tick = r.tick_number
        return False

    def _news(self, r: News) -> bool:
        for team in self.teams.values():
            team.news_base = self.pnl(team)
        return False

    def _market_data(self, r: MarketData) -> bool:
        if r.fair is not None:
            self.marks[r.instrument_id] = r.fair
        return False

    # ------------------------------------------------------------------ orders

    def _accepted(self, r: OrderAccepted) -> bool:
        team = self.teams.get(r.team_id)
        if (
            team is not None
            and team.role == "market_maker"
            and r.price is not None
            and r.order_type in RESTING
            and not r.duplicate
        ):
            order = Resting(r.instrument_id, r.side == "buy", r.price, r.quantity, r.seq)
            team.orders[r.order_id] = order
            team.quotes.add(order)
        return False

    def _cancelled(self, r: OrderCancelled) -> bool:
        team = self.teams.get(r.team_id)
        if team is not None:
            order = team.orders.pop(r.order_id, None)
            if order is not None:
                team.quotes.remove(order, order.remaining)
                if (
                    r.reason == "out_of_band"
                    and order.seq < self.sample_seq  # resting at the sample: a band sweep
                    and order.instrument_id in team.good
                ):
                    team.swept[order.instrument_id] = self.tick_number
        return False

    def _trade(self, r: Trade) -> bool:
        self_trade = r.maker_team_id == r.taker_team_id
        if not self_trade:
            self.total_volume += r.quantity
        maker = self.teams.get(r.maker_team_id)
        taker = self.teams.get(r.taker_team_id)
        if maker is not None:
            buy = r.maker_side == "buy"
            self._fill(maker, r, buy, r.maker_fee, r.maker_order_id, r.maker_remaining, self_trade)
            if maker.role == "market_maker" and not self_trade:
                mark = self.marks.get(r.instrument_id)
                if mark is not None:
                    edge = (mark - r.price) if buy else (r.price - mark)
                    mult = self.multiplier.get(r.instrument_id, 1)
                    maker.spread_captured += edge * r.quantity * mult
        if taker is not None:
            buy = r.maker_side != "buy"
            self._fill(taker, r, buy, r.taker_fee, r.taker_order_id, r.taker_remaining, self_trade)
        return False

    def _fill(
        self,
        team: TeamScore,
        r: Trade,
        buy: bool,
        fee: int,
        order_id: str,
        remaining: int,
        self_trade: bool,
    ) -> None:
        iid, price = r.instrument_id, r.price
        signed = r.quantity if buy else -r.quantity
        mult = self.multiplier.get(iid, 1)
        flow = fee - signed * price * mult
        team.cash += flow
        team.fees += fee
        _position(team, iid, signed, price * mult)
        if not self_trade:
            team.volume += r.quantity
            team.trades += 1
        if team.orders:
            order = team.orders.get(order_id)
            if order is not None:
                team.quotes.remove(order, order.remaining - remaining)
                if remaining:
                    order.remaining = remaining
                else:
                    del team.orders[order_id]
        role = team.role
        if role == "hedge_fund":
            inst = self.instruments.get(iid)
            if inst is not None and not inst.is_option:
                team.hedge_cash += flow
                _add(team.hedge_positions, iid, signed)
        elif role == "arbitrage" and self.signal_ticks:
            tick, settings = self.tick_number, self.settings
            if tick - self.signal_ticks[-1] <= settings.arb_signal_ticks:
                team.signal_cash += flow
                _add(team.signal_positions, iid, signed)
            if not self_trade:
                for signal in reversed(self.signal_ticks):  # the latest signal not yet paid
                    if tick - signal > settings.arb_bonus_ticks:
                        break
                    if signal not in team.awarded:
                        team.awarded = [*team.awarded[-3:], signal]
                        team.signals_traded += 1
                        team.signal_bonus += settings.arb_signal_bonus
                        break

    # ------------------------------------------------------------------ figures

    def value(self, positions: dict[str, int], cash: int, cost: dict[str, int] | None) -> int:
        """Cash plus positions at the marks (at cost where an instrument has no mark yet)."""
        total = cash
        marks, mult = self.marks, self.multiplier
        for iid, quantity in positions.items():
            mark = marks.get(iid)
            if mark is not None:
                total += quantity * mark * mult.get(iid, 1)
            elif cost is not None:
                total += cost.get(iid, 0)
        return total

    def pnl(self, team: TeamScore) -> int:
        return self.value(team.positions, team.cash, team.cost)

    def score(self, team: TeamScore) -> int:
        return self.pnl(team) - team.penalties + team.bonuses

    def signal_pnl(self, team: TeamScore) -> int:
        return self.value(team.signal_positions, team.signal_cash, None)

    def hedge_pnl(self, team: TeamScore) -> int:
        return self.value(team.hedge_positions, team.hedge_cash, None)

    # ------------------------------------------------------------------ tick samples

    def _sample(self, r: UnderlyingPrices) -> bool:
        marks = self.marks
        if r.fair:
            marks.update(r.fair)
        else:  # a log from before fair values were recorded: the underlyings at least
            marks["SPX"], marks["SPY"] = r.spx, r.spy
        if r.delta_ppm:
            self.deltas = {iid: d / 1_000_000 for iid, d in r.delta_ppm.items()}
        self.sample_seq = r.seq
        kpi = self.phase in self.kpi_phases
        tick = self.tick_number
        for team in self.teams.values():
            self._sample_team(team, tick, kpi, r.seq)
        return self.settings.score_updates

    def _sample_team(self, team: TeamScore, tick: int, kpi: bool, seq: int) -> None:
        s, instruments = self.settings, self.instruments
        pnl = self.pnl(team)
        change = pnl - team.last_pnl
        team.samples += 1
        team.sum_change += change
        team.sum_change_sq += change * change
        team.last_pnl = pnl
        team.peak = max(team.peak, pnl)
        team.max_drawdown = max(team.max_drawdown, team.peak - pnl)
        positions = team.positions
        team.delta = kpis.portfolio_delta(positions, instruments, self.deltas, self.weights)
        role = team.role
        forecast = self.forecast_tick
        if (
            role == "hedge_fund"
            and forecast is not None
            and 0 < tick - forecast <= s.hf_forecast_ticks
        ):
            team.forecast_pnl += change
        coverage = NAN
        if kpi:
            if role == "market_maker":
                good = kpis.good_quotes(team.quotes, self.cover, self.quote_rule, s.mm_min_size)
                covered = len(good) + self._relieved(team, good, tick)
                team.good = good
                team.kpi_ticks += 1
                team.covered += covered
                team.coverage = coverage = covered / len(self.cover)
                self._window(team, covered)
                excess = kpis.inventory_excess(positions, instruments, s.mm_inventory_limit)
                team.inventory_penalty += excess * s.mm_inventory_penalty
            elif role == "hedge_fund":
                team.kpi_ticks += 1
                excess_delta = abs(team.delta) - s.hf_delta_limit
                if excess_delta > 0:
                    team.delta_penalty += round(excess_delta * s.hf_delta_penalty)
            elif role == "arbitrage":
                team.kpi_ticks += 1
                if kpis.out_of_balance(positions, instruments, self.exact_weights, self.max_ratio):
                    team.balance_breaches += 1
                    team.balance_penalty += s.arb_balance_penalty
        elif role == "market_maker":
            # what a sweep in a phase that does not count (the opening auction, where no
            # one may quote) pulls, is relieved at the first tick that counts
            team.good = kpis.good_quotes(team.quotes, self.cover, self.quote_rule, s.mm_min_size)
            if team.coverage is not None:
                coverage = team.coverage
        position = sum(abs(q) for q in positions.values())
        score = pnl - team.penalties + team.bonuses
        team.series.append(tick, seq, pnl, score, position, team.delta, coverage)

    def _relieved(self, team: TeamScore, good: set[str], tick: int) -> int:
        """Instruments counted covered by the sweep grace: a good quote that the band
        sweep cancelled at most ``mm_sweep_grace_ticks`` ticks ago and not yet replaced.

        When fair values jump (a volatility regime change moves every option's value by
        half or more), the band sweep pulls nearly every quote at once, and a maker at
        the role's 10 quotes a second cannot re-quote 20 instruments within a one-second
        tick: the exchange pulled them, so the obligation waits for the re-quote, as
        exchanges relieve makers' obligations in a fast market."""
        swept = team.swept
        if not swept:
            return 0
        grace = self.settings.mm_sweep_grace_ticks
        relieved = 0
        for iid, at in list(swept.items()):
            if tick - at > grace:
                del swept[iid]
            elif iid not in good:
                relieved += 1
        team.relieved += relieved
        return relieved

    def _window(self, team: TeamScore, covered: int) -> None:
        """The rolling window of the last ``window_ticks`` KPI ticks; under the bar: a breach."""
        window = team.window
        window.append(covered)
        team.window_sum += covered
        if len(window) > self.window_ticks:
            team.window_sum -= window.popleft()
        if len(window) == self.window_ticks:
            needed = self.min_uptime * self.window_ticks * len(self.cover)
            if team.window_sum < needed:
                team.breaches += 1
                team.breach_penalty += self.settings.mm_breach_penalty


def _add(positions: dict[str, int], iid: str, signed: int) -> None:
    quantity = positions.get(iid, 0) + signed
    if quantity:
        positions[iid] = quantity
    else:
        positions.pop(iid, None)


def _position(team: TeamScore, iid: str, signed: int, unit_value: int) -> None:
    """Position and average cost; the part of a fill that closes realises P&L."""
    pos = team.positions.get(iid, 0)
    cost = team.cost.get(iid, 0)
    if pos == 0 or (pos > 0) == (signed > 0):
        pos += signed
        cost += signed * unit_value
    else:
        closing = min(abs(signed), abs(pos))
        closed_cost = cost * closing // abs(pos)
        direction = 1 if pos > 0 else -1
        team.realised += direction * closing * unit_value - closed_cost
        cost -= closed_cost
        pos += signed
        opening = abs(signed) - closing
        if opening:  # the fill went through zero: the rest opens the other way
            cost = (1 if signed > 0 else -1) * opening * unit_value
    if pos:
        team.positions[iid], team.cost[iid] = pos, cost
    else:
        team.positions.pop(iid, None)
        team.cost.pop(iid, None)
