"""FIX order messages -> trading commands: NewOrderSingle (D) -> `PlaceOrder`, OrderCancelRequest
(F) -> `CancelOrder`, OrderCancelReplaceRequest (G) -> `AmendOrder`.

Every identifier (ClOrdID, OrigClOrdID, Account, Symbol, the CompIDs of a Logon) passes the
kernel's `parse_identifier`, the one gate every edge uses; a Price passes a plain-decimal check
and then the kernel's `parse_price`; a quantity is a positive whole number. A field that fails
is a `SessionReject` naming the tag and the rule, answered by the session with a Reject (35=3).

OrdType mapping (HKEX order types): 40=2 Limit -> LIMIT; 40=2 with TimeInForce 59=3 (IOC) ->
SPECIAL_LIMIT; 40=2 with ExecInst 18=e -> ENHANCED_LIMIT; 40=1 Market -> AT_AUCTION (price 0);
40=2 with 59=2 (At the Opening) or 59=7 (At the Close) -> AT_AUCTION_LIMIT.
"""

from __future__ import annotations

import re
from typing import Any

import simplefix

from lionrock.gateways.fix import tags
from lionrock.gateways.fix.framing import SessionReject, is_digits, printable
from lionrock.gateways.fix.reports import OrderView, Reporter
from lionrock.gateways.fix.tags import (
    EXEC_INST_ENHANCED,
    OrdType,
    SessionRejectReason,
    Side,
    TimeInForce,
)
from lionrock.kernel.account import house_account, participant_of
from lionrock.kernel.ids import IDENTIFIER_CHARACTERS, IDENTIFIER_MAX_LENGTH, parse_identifier
from lionrock.kernel.price import parse_price
from lionrock.readmodel.tenancy import Principal
from lionrock.trading.commands import (
    AT_AUCTION,
    AT_AUCTION_LIMIT,
    BUY,
    ENHANCED_LIMIT,
    LIMIT,
    SELL,
    SPECIAL_LIMIT,
    AmendOrder,
    CancelOrder,
    PlaceOrder,
)

SIDE_IN = {Side.BUY: BUY, Side.SELL: SELL, Side.SELL_SHORT: SELL}  # sell short: a short sale under Schedule 11
_LIMIT_TYPES = {
    TimeInForce.IMMEDIATE_OR_CANCEL: SPECIAL_LIMIT,
    TimeInForce.AT_THE_OPENING: AT_AUCTION_LIMIT,
    TimeInForce.AT_THE_CLOSE: AT_AUCTION_LIMIT,
}
"""A limit order's time in force -> the HKEX order type that carries it (trading has no TIF field)."""


class OrderMapper:
    """A session's order messages -> commands, with the session's order views (its `Reporter`'s)
    to find the order a cancel or replace names, and the read models for one it has not seen."""

    def __init__(self, reporter: Reporter, read: Any) -> None:
        self.reporter = reporter
        self.read = read

    def new_order(self, msg: simplefix.FixMessage, p: Principal) -> tuple[PlaceOrder, bytes]:
        """The `PlaceOrder` of a NewOrderSingle, and its Side (54) as received (reports echo it)."""
        cl = identifier(msg.get(tags.CL_ORD_ID) or b"", tags.CL_ORD_ID, "ClOrdID")
        symbol = identifier(msg.get(tags.SYMBOL) or b"", tags.SYMBOL, "Symbol")
        side_code = required(msg, tags.SIDE)
        side = SIDE_IN.get(side_code)
        if side is None:
            raise SessionReject(SessionRejectReason.VALUE_INCORRECT, tags.SIDE, "Side (54) must be 1 (buy), 2 (sell) or 5 (sell short)")
        qty = quantity(msg, tags.ORDER_QTY)
        ord_type = required(msg, tags.ORD_TYPE)
        if ord_type == OrdType.MARKET:
            order_type, price_ticks = AT_AUCTION, 0
        elif ord_type == OrdType.LIMIT:
            price_ticks = price(msg)
            tif, exec_inst = msg.get(tags.TIME_IN_FORCE), msg.get(tags.EXEC_INST) or b""
            order_type = _LIMIT_TYPES.get(tif or b"", ENHANCED_LIMIT if EXEC_INST_ENHANCED in exec_inst else LIMIT)
        else:
            raise SessionReject(
                SessionRejectReason.VALUE_INCORRECT, tags.ORD_TYPE, "OrdType (40) must be 1 (market: at-auction) or 2 (limit)"
            )
        account_raw = msg.get(tags.ACCOUNT)
        account = (
            identifier(account_raw, tags.ACCOUNT, "Account")
            if account_raw is not None
            else (p.accounts[0] if p.accounts else house_account(p.participant))
        )
        command = PlaceOrder(
            instrument=symbol,
            participant=participant_of(account) or p.participant,
            account=account,
            client_order_id=cl,
            side=side,
            order_type=order_type,
            price=price_ticks,
            quantity=qty,
            channel="FIX",
            short_sell=side_code == Side.SELL_SHORT,
        )
        return command, side_code

    def cancel(self, msg: simplefix.FixMessage, p: Principal) -> tuple[CancelOrder, str, str, int]:
        """The `CancelOrder` of an OrderCancelRequest, its ClOrdID, the OrigClOrdID and the order id found."""
        cl = identifier(msg.get(tags.CL_ORD_ID) or b"", tags.CL_ORD_ID, "ClOrdID")
        oid, orig = self.lookup(msg)
        symbol = identifier(msg.get(tags.SYMBOL) or b"", tags.SYMBOL, "Symbol")
        return (
            CancelOrder(instrument=symbol, participant=p.participant, order_id=oid, client_order_id=orig if not oid else ""),
            cl,
            orig,
            oid,
        )

    def replace(self, msg: simplefix.FixMessage, p: Principal) -> tuple[AmendOrder, str, str, int]:
        """The `AmendOrder` of an OrderCancelReplaceRequest (OrderQty is the new total: the
        remaining quantity is it less what is filled), its ClOrdID, OrigClOrdID and order id."""
        cl = identifier(msg.get(tags.CL_ORD_ID) or b"", tags.CL_ORD_ID, "ClOrdID")
        oid, orig = self.lookup(msg)
        symbol = identifier(msg.get(tags.SYMBOL) or b"", tags.SYMBOL, "Symbol")
        total = quantity(msg, tags.ORDER_QTY)
        price_ticks = price(msg) if msg.get(tags.PRICE) is not None else 0
        view = self.view(oid, orig, p)
        filled = view.cum_qty if view is not None else 0
        command = AmendOrder(
            instrument=symbol,
            participant=p.participant,
            quantity=max(total - filled, 0),
            price=price_ticks,
            order_id=oid,
            client_order_id=orig if not oid else "",
        )
        return command, cl, orig, oid

    def lookup(self, msg: simplefix.FixMessage) -> tuple[int, str]:
        """Venue order id from OrderID (37), or from OrigClOrdID (41) following this session's
        ClOrdID chain (a replaced order is known by its latest ClOrdID)."""
        order_id = msg.get(tags.ORDER_ID)
        orig = identifier(msg.get(tags.ORIG_CL_ORD_ID) or b"", tags.ORIG_CL_ORD_ID, "OrigClOrdID")
        oid = int(order_id) if order_id and is_digits(order_id, 18) else 0
        if not oid:
            for v in self.reporter.orders.values():
                if v.cl_ord_id == orig:
                    return v.order_id, orig
        return oid, orig

    def view(self, order_id: int, cl: str, p: Principal | None) -> OrderView | None:
        """The session's view of an order (by id or ClOrdID), else one built from the read models."""
        orders = self.reporter.orders
        if order_id and order_id in orders:
            return orders[order_id]
        for v in orders.values():
            if v.cl_ord_id == cl:
                return v
        row = self.read.one(
            "SELECT order_id, client_order_id, instrument, side, quantity, price, account, filled, short_sell FROM orders "
            "WHERE order_id = ? OR (participant = ? AND client_order_id = ?) ORDER BY order_id DESC LIMIT 1",
            (order_id, p.participant if p else "", cl),
        )
        if row is None:
            return None
        v = OrderView(
            int(row[0]),
            row[1],
            row[2],
            row[3],
            int(row[4]),
            int(row[5]),
            row[6],
            int(row[7]),
            int(row[7]) * int(row[5]),
            short=bool(row[8]),
        )
        orders[v.order_id] = v
        return v


def required(msg: simplefix.FixMessage, tag: int) -> bytes:
    value = msg.get(tag)
    if value is None or value == b"":
        raise SessionReject(SessionRejectReason.REQUIRED_TAG_MISSING, tag, f"required tag {tag} missing")
    return bytes(value)


_MAX_QUANTITY_DIGITS = 12


def quantity(msg: simplefix.FixMessage, tag: int) -> int:
    raw = required(msg, tag)
    if not is_digits(raw, _MAX_QUANTITY_DIGITS) or int(raw) <= 0:
        raise SessionReject(
            SessionRejectReason.VALUE_INCORRECT,
            tag,
            f"tag {tag} must be a positive whole number of at most {_MAX_QUANTITY_DIGITS} digits, got {shown(raw)}",
        )
    return int(raw)


_FIX_PRICE = re.compile(rb"[0-9]{1,9}(\.[0-9]{1,9})?")


def price(msg: simplefix.FixMessage) -> int:
    """Price (44): a FIX Price is plain decimal digits with an optional point; an exponent
    (``1e400``), NaN, Infinity, a sign or more than 9 whole digits is refused here, before the
    kernel's ``parse_price`` (positive, at most 0.001 fine) decides."""
    raw = required(msg, tags.PRICE)
    if _FIX_PRICE.fullmatch(raw) is None:
        raise SessionReject(
            SessionRejectReason.INCORRECT_DATA_FORMAT,
            tags.PRICE,
            f"Price (44) must be a plain decimal such as 49.90 (digits, optional point, no sign or exponent), got {shown(raw)}",
        )
    try:
        return parse_price(raw.decode())
    except ValueError as exc:
        raise SessionReject(SessionRejectReason.VALUE_INCORRECT, tags.PRICE, f"Price (44): {exc}") from exc


def shown(raw: bytes) -> str:
    """A client's value quoted in a Text: printable and cut short."""
    text = printable(raw[:40].decode("ascii", "replace"))
    return repr(text + ("..." if len(raw) > 40 else ""))


def identifier(raw: bytes, tag: int, name: str) -> str:
    """An identifier over FIX (ClOrdID, OrigClOrdID, Account, Symbol, CompIDs), checked by the
    kernel's `parse_identifier`, the one gate every edge uses: 1 to 64 characters of its narrow
    charset. Anything else (SOH, which would let a value inject fields into the reports that carry
    it back; a 100,000 character id) is a Reject: 1 when empty, 5 (value incorrect) for the
    length, 6 (incorrect data format) for a character, with Text naming the field and the rule."""
    if not raw:
        raise SessionReject(SessionRejectReason.REQUIRED_TAG_MISSING, tag, f"required tag {tag} ({name}) missing")
    if len(raw) > IDENTIFIER_MAX_LENGTH:
        raise SessionReject(
            SessionRejectReason.VALUE_INCORRECT, tag, f"{name} ({tag}) must be 1-{IDENTIFIER_MAX_LENGTH} characters, got {len(raw)}"
        )
    try:
        return parse_identifier(raw.decode("ascii"), f"{name} ({tag})")
    except (UnicodeDecodeError, ValueError):
        raise SessionReject(
            SessionRejectReason.INCORRECT_DATA_FORMAT, tag, f"{name} ({tag}) may contain only {IDENTIFIER_CHARACTERS}, got {shown(raw)}"
        ) from None


__all__ = ["SIDE_IN", "OrderMapper", "identifier", "price", "quantity", "required", "shown"]
