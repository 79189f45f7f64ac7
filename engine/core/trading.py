"""Orders and quotes: admission, matching in price-time priority, fills, cancels.

Matching (docs/rules.md, Orders): partial fills; trades at the resting (maker) order's price;
a market order never rests (its unfilled rest is cancelled ``no_liquidity``).

Self-trades: "a fill between two orders of the same team carries no fee and no rebate
(otherwise a market maker farms its rebate against its own taker fee)"; it is marked
``Trade.self_trade``. With ``[execution] self_trade = "prevent"`` the incoming order stops
at the first resting order of its own team and its remainder is cancelled
(``self_trade_prevented``); what it traded before stands.

The price band: "an order or quote priced more than 20% away from the instrument's
current fair value, or 0.50 for options whose 20% is smaller, is refused with
INVALID_PRICE". So nothing rests outside the band, and when fair values move (each
tick) the orders left outside it are cancelled (``out_of_band``): every trade prints
inside the band of its moment, since it is at a resting price (a market order sweeping
the book meets only banded prices). A limit priced beyond the band on its marketable
side (a buy above it, a sell below it) is, in continuous trading and with
``through_band = "trade_within"``, matched only up to the band's edge and its rest is
cancelled (``out_of_band``) instead of resting where no one may price.
"""

from __future__ import annotations

from engine.core import rules
from engine.core.accounts import Account
from engine.core.book import Book
from engine.core.orders import Order
from engine.core.rules import Refusal
from engine.core.state import CoreState
from engine.order_types import ORDER_TYPES
from engine.records import (
    CancelAll,
    CancelOrder,
    CancelReason,
    OrderAccepted,
    OrderCancelled,
    SubmitOrder,
    SubmitQuote,
    Trade,
)


class Trading(CoreState):
    # ------------------------------------------------------------------ orders

    def _submit(self, c: SubmitOrder) -> None:
        team = self.teams.get(c.team_id)
        refusal = self._admit(c, team)
        if refusal is not None:
            self._refuse(
                c, refusal, instrument_id=c.instrument_id[:64], client_order_id=c.client_order_id
            )
            return
        assert team is not None
        if c.client_order_id is not None:
            original = self.client_ids.get((team.team_id, c.client_order_id))
            if original is not None:
                self._accepted(self.orders[original], c.request_id, duplicate=True)
                return
        if team.api_key_hash and not team.exempt:  # simulated flow has its own rate
            rule = self.config.roles[team.role]
            limited = self.limiter.check(team.team_id, rule.orders_per_second, self._ts)
            if limited is not None:
                self._refuse(
                    c, limited, instrument_id=c.instrument_id, client_order_id=c.client_order_id
                )
                return
        is_buy = c.side == "buy"
        rule = self.config.roles[team.role]
        refusal = rules.one_side_rule(rule, team, c.instrument_id, is_buy, c.order_type) or (
            rules.position_limits(rule, team, self.instruments[c.instrument_id], is_buy, c.quantity)
        )
        if refusal is not None:
            self._refuse(
                c, refusal, instrument_id=c.instrument_id, client_order_id=c.client_order_id
            )
            return
        self._place(
            team,
            c.instrument_id,
            is_buy,
            c.order_type,
            c.price,
            c.quantity,
            c.client_order_id,
            c.request_id,
        )

    def _admit(self, c: SubmitOrder, team: Account | None) -> Refusal | None:
        if team is None or team.disabled:
            return Refusal("TEAM_NOT_FOUND", f"no active team {c.team_id[:64]!r}")
        refusal = (
            rules.trading_allows(self.trading_halted, self.ended_seq > 0)
            or rules.phase_allows(self.phase, "submit orders")
            or rules.order_fields(
                self.instruments,
                self.config,
                c.instrument_id,
                c.side,
                c.quantity,
                c.order_type,
                c.price,
            )
        )
        if refusal is not None:
            return refusal
        if ORDER_TYPES[c.order_type].continuous_only and self.phase != "continuous":
            return Refusal(
                "MARKET_CLOSED",
                f"{c.order_type} orders trade only in continuous trading",
                {"phase": self.phase},
            )
        refusal = rules.role_allows(
            self.config.roles[team.role], team.role, c.order_type, c.quantity
        )
        if refusal is None and c.price is not None:
            refusal = self._band_refusal(c.instrument_id, c.side == "buy", c.price, True)
        return refusal

    def _band_refusal(
        self, instrument_id: str, is_buy: bool, price: int, may_trade_within: bool
    ) -> Refusal | None:
        limits = self.bands.get(instrument_id)
        if rules.in_band(price, limits):
            return None
        assert limits is not None
        if (
            may_trade_within
            and self.phase == "continuous"
            and self.config.price_limits.through_band == "trade_within"
            and rules.through_band(is_buy, price, limits)
        ):
            return None
        return rules.out_of_band(price, limits)

    def _accepted(self, order: Order, request_id: str | None, duplicate: bool = False) -> None:
        """``OrderAccepted`` for a new order, or restating a live one (a repeated client id)."""
        seq, ts = self._next()
        self._emit(
            OrderAccepted(
                seq=seq,
                ts=ts,
                order_id=order.order_id,
                team_id=order.team_id,
                instrument_id=order.instrument_id,
                side=order.side,
                order_type=order.order_type,
                quantity=order.quantity,
                price=order.price,
                client_order_id=order.client_order_id,
                request_id=request_id,
                quote=order.quote,
                duplicate=duplicate,
            )
        )

    def _place(
        self,
        team: Account,
        instrument_id: str,
        is_buy: bool,
        order_type: str,
        price: int | None,
        quantity: int,
        client_order_id: str | None,
        request_id: str | None,
        quote: bool = False,
    ) -> Order:
        self.orders_placed += 1
        order = Order(
            f"ORD_{self.orders_placed:08d}",
            team.team_id,
            instrument_id,
            is_buy,
            order_type,
            price,
            quantity,
            self._seq,
            client_order_id,
            quote,
        )
        self._accepted(order, request_id)
        book = self.books[instrument_id]
        if self.phase == "continuous" and self._match(order, book) and order.remaining:
            self._cancelled(order, order.cancel(), "self_trade_prevented")
            return order
        if order.remaining == 0:
            return order
        reason = ORDER_TYPES[order_type].remainder_reason
        if reason is not None:
            self._cancelled(order, order.cancel(), reason)
            return order
        if price is not None and rules.through_band(is_buy, price, self.bands[instrument_id]):
            self._cancelled(order, order.cancel(), "out_of_band")
            return order
        book.side(is_buy).add(order)
        team.rest(order, order.remaining)
        team.orders[order.order_id] = order
        self.orders[order.order_id] = order
        if client_order_id is not None:
            self.client_ids[(team.team_id, client_order_id)] = order.order_id
        return order

    def _match(self, taker: Order, book: Book) -> bool:
        """Fill ``taker`` against the book; True when a self-trade prevention stopped it."""
        opposite = book.opposite(taker.is_buy)
        limit = taker.price
        bounds = self.bands[book.instrument_id]
        if limit is not None and bounds is not None:  # never through the band's edge
            limit = min(limit, bounds[1]) if taker.is_buy else max(limit, bounds[0])
        prevent = self.config.execution.self_trade == "prevent"
        while taker.remaining and opposite.prices:
            best = opposite.best()
            assert best is not None
            if limit is not None and (best > limit if taker.is_buy else best < limit):
                break
            for maker in list(opposite.levels[best].values()):
                if prevent and maker.team_id == taker.team_id:
                    return True
                self._trade(maker, taker, best, min(taker.remaining, maker.remaining), book)
                if not taker.remaining:
                    break
        return False

    def _sweep_band(self) -> None:
        """After fair values moved: no order may rest outside its instrument's band.

        Most ticks pull nothing, and each book's lowest and highest prices say so
        without a look at its orders (the look at every order took ~0.7 ms a tick with
        30,000 resting). Otherwise every order is looked at, in the order they rest,
        so the pulls come out as they always did."""
        bands = self.bands
        if all(book.within(bands[iid]) for iid, book in self.books.items()):
            return
        for order in list(self.orders.values()):
            if order.price is not None and not rules.in_band(
                order.price, bands[order.instrument_id]
            ):
                self._pull(order, "out_of_band")

    def _trade(self, maker: Order, taker: Order, price: int, quantity: int, book: Book) -> None:
        maker_team, taker_team = self.teams[maker.team_id], self.teams[taker.team_id]
        multiplier = self.instruments[book.instrument_id].multiplier
        self_trade = maker.team_id == taker.team_id  # no fee and no rebate: nothing to farm
        maker_fee = 0 if self_trade else self.config.roles[maker_team.role].maker_fee * quantity
        taker_fee = 0 if self_trade else self.config.roles[taker_team.role].taker_fee * quantity
        maker.fill(quantity)
        taker.fill(quantity)
        # a taker rests only in the auction, where both sides come from the book
        taker_rests = taker.order_id in self.orders
        book.side(maker.is_buy).changed(maker.price)  # the resting orders' levels moved
        if taker_rests:
            book.side(taker.is_buy).changed(taker.price)
        iid = book.instrument_id
        maker_team.fill(iid, maker.is_buy, quantity, price, multiplier, maker_fee, resting=True)
        taker_team.fill(iid, taker.is_buy, quantity, price, multiplier, taker_fee,
                        resting=taker_rests)  # fmt: skip
        book.last = price
        self.trades_made += 1
        seq, ts = self._next()
        self._emit(
            Trade(
                seq=seq,
                ts=ts,
                trade_id=f"TRD_{self.trades_made:08d}",
                instrument_id=book.instrument_id,
                price=price,
                quantity=quantity,
                maker_order_id=maker.order_id,
                maker_team_id=maker.team_id,
                maker_side=maker.side,
                maker_fee=maker_fee,
                maker_remaining=maker.remaining,
                taker_order_id=taker.order_id,
                taker_team_id=taker.team_id,
                taker_fee=taker_fee,
                taker_remaining=taker.remaining,
                maker_client_order_id=maker.client_order_id,
                taker_client_order_id=taker.client_order_id,
                self_trade=self_trade,
            )
        )
        for order in (maker, taker):
            if order.remaining == 0 and order.order_id in self.orders:
                book.side(order.is_buy).remove(order)
                self._forget(order)

    def _forget(self, order: Order) -> None:
        """An order is done (filled or cancelled): drop it from the live indexes."""
        del self.orders[order.order_id]
        del self.teams[order.team_id].orders[order.order_id]
        if order.client_order_id is not None:
            self.client_ids.pop((order.team_id, order.client_order_id), None)

    def _cancelled(
        self, order: Order, quantity: int, reason: CancelReason, request_id: str | None = None
    ) -> None:
        seq, ts = self._next()
        self._emit(
            OrderCancelled(
                seq=seq,
                ts=ts,
                order_id=order.order_id,
                team_id=order.team_id,
                instrument_id=order.instrument_id,
                side=order.side,
                cancelled_quantity=quantity,
                reason=reason,
                client_order_id=order.client_order_id,
                request_id=request_id,
            )
        )

    def _pull(self, order: Order, reason: CancelReason, request_id: str | None = None) -> None:
        """Cancel a resting order."""
        self.books[order.instrument_id].side(order.is_buy).remove(order)
        self.teams[order.team_id].rest(order, -order.remaining)
        quantity = order.cancel()
        self._forget(order)
        self._cancelled(order, quantity, reason, request_id)

    def _cancel(self, c: CancelOrder) -> None:
        team = self.teams.get(c.team_id)
        order = self.orders.get(c.order_id)
        refusal = None
        if team is None or team.disabled:
            refusal = Refusal("TEAM_NOT_FOUND", f"no active team {c.team_id[:64]!r}")
        else:
            refusal = rules.phase_allows(self.phase, "cancel orders")
        if refusal is None and (order is None or order.team_id != c.team_id):
            # another team's order is "not found" too: ids leak nothing
            refusal = Refusal("ORDER_NOT_FOUND", f"no open order {c.order_id[:64]!r}")
        if refusal is not None:
            self._refuse(c, refusal, order_id=c.order_id[:64])
            return
        assert order is not None
        self._pull(order, "user", c.request_id)

    def _cancel_all(self, c: CancelAll) -> None:
        team = self.teams.get(c.team_id)
        if team is None or team.disabled:
            self._refuse(c, Refusal("TEAM_NOT_FOUND", f"no active team {c.team_id[:64]!r}"))
            return
        refusal = rules.phase_allows(self.phase, "cancel orders")
        if (
            refusal is None
            and c.instrument_id is not None
            and c.instrument_id not in self.instruments
        ):
            refusal = Refusal("INVALID_INSTRUMENT", f"unknown instrument {c.instrument_id[:64]!r}")
        if refusal is not None:
            self._refuse(c, refusal)
            return
        for order in list(team.orders.values()):
            if c.instrument_id is None or order.instrument_id == c.instrument_id:
                self._pull(order, "cancel_all", c.request_id)

    # ------------------------------------------------------------------ quotes

    def _quote(self, c: SubmitQuote) -> None:
        team = self.teams.get(c.team_id)
        refusal = self._admit_quote(c, team)
        if refusal is not None:
            self._refuse(c, refusal, instrument_id=c.instrument_id[:64])
            return
        assert team is not None
        key = (team.team_id, c.instrument_id)
        old = [self.orders[o] for o in self.quotes.get(key, ()) if o in self.orders]
        for order in old:  # what the check sees: the new quote instead of the old one
            team.rest(order, -order.remaining)
        rule = self.config.roles[team.role]
        instrument = self.instruments[c.instrument_id]
        refusal = rules.position_limits(rule, team, instrument, True, c.bid_size) or (
            rules.position_limits(rule, team, instrument, False, c.ask_size)
        )
        for order in old:
            team.rest(order, order.remaining)
        if refusal is not None:
            self._refuse(c, refusal, instrument_id=c.instrument_id)
            return
        for order in old:
            self._pull(order, "replaced", c.request_id)
        bid = self._place(
            team, c.instrument_id, True, "limit", c.bid_price, c.bid_size, None, c.request_id, True
        )
        ask = self._place(
            team, c.instrument_id, False, "limit", c.ask_price, c.ask_size, None, c.request_id, True
        )
        self.quotes[key] = (bid.order_id, ask.order_id)

    def _admit_quote(self, c: SubmitQuote, team: Account | None) -> Refusal | None:
        if team is None or team.disabled:
            return Refusal("TEAM_NOT_FOUND", f"no active team {c.team_id[:64]!r}")
        rule = self.config.roles[team.role]
        refusal = (
            rules.trading_allows(self.trading_halted, self.ended_seq > 0)
            or rules.phase_allows(self.phase, "quote")
            or rules.role_allows(rule, team.role, "quote", 1)
            or rules.order_fields(
                self.instruments,
                self.config,
                c.instrument_id,
                "buy",
                c.bid_size,
                "limit",
                c.bid_price,
            )
            or rules.order_fields(
                self.instruments,
                self.config,
                c.instrument_id,
                "sell",
                c.ask_size,
                "limit",
                c.ask_price,
            )
            or rules.quote_fields(
                c.bid_price, c.bid_size, c.ask_price, c.ask_size, rule, self.config
            )
            or self._band_refusal(c.instrument_id, True, c.bid_price, False)
            or self._band_refusal(c.instrument_id, False, c.ask_price, False)
        )
        if refusal is None and team.api_key_hash and not team.exempt:
            refusal = self.limiter.check(team.team_id, rule.orders_per_second, self._ts)
        return refusal
