"""`ClearingContext`: the ledger, trade clearing and CNS settlement, IPO money and shares, FX.

Commands (clearing.commands) move cash in and out through external ``X:`` accounts, issue or
transfer shares, record exchange rates, convert currencies and run settlement. Observed events:
trading's `TradeExecuted` (novation: charges computed, a position due on T+2), offering's
`IpoApplicationsFunded` (pre-funding holds) and `IpoSettlementInstructed` (issuance, refunds,
proceeds, fees), trading's `InstrumentListed` (dual-counter mapping).

Settlement (`RunSettlement(day)`): every net position (account, security, currency) due on or
before ``day`` settles delivery-versus-payment against ``H:HKSCC``: deliverers first (they must
hold the shares and any net cash they owe), then receivers in account order (they must hold the
cash they owe; they wait, without failing, if HKSCC has not received enough shares). HKSCC pays
sellers even when a buyer fails (its guarantee: it may run a negative cash balance, never a
negative stock balance). A position that cannot settle is recorded (`SettlementFailed`), carried
and retried at each later run; a short stock position still open on the buy-in day is flagged
(`BuyInRequired`). Charges (stamp duty, trading fee, levies, settlement fee) are paid in HKD
from the account to the named collectors when its position settles.
"""

from __future__ import annotations

import bisect
from datetime import date
from functools import lru_cache
from typing import Any, ClassVar, assert_never, cast

from lionrock.clearing._codes import ClearingCode
from lionrock.clearing.commands import (
    CLEARING_COMMANDS,
    ClearingCommand,
    ConvertCurrency,
    CreditSecurities,
    DepositCash,
    OpenClearingAccount,
    RecordFxRates,
    RegisterSecurity,
    RunSettlement,
    TransferBetweenCounters,
    WithdrawCash,
)
from lionrock.clearing.events import (
    BuyInRequired,
    CashDeposited,
    CashWithdrawn,
    ClearingAccountOpened,
    CountersTransferred,
    CurrencyConverted,
    FxRatesRecorded,
    IpoFundsHeld,
    IpoSettled,
    IpoSettlementFailed,
    Posting,
    SecuritiesCredited,
    SecurityRegistered,
    SettlementFailed,
    SettlementRunCompleted,
    TradeCleared,
    TradeClearingDeferred,
)
from lionrock.clearing.ledger import (
    CASH_ASSETS,
    CLEARING_HOUSE,
    FX_DEALER,
    Ledger,
    account_kind,
    asset_valid,
    participant_of,
    security_asset,
)
from lionrock.kernel.errors import fail, invariant, require
from lionrock.kernel.messages import Command, Event, Stamp
from lionrock.kernel.money import Currency, Rate, Rounding, round_div
from lionrock.kernel.price import consideration_minor
from lionrock.kernel.xhkg import HkDay, add_business_days, hk_date, is_business_day
from lionrock.offering.events import IpoApplicationsFunded, IpoSettlementInstructed
from lionrock.rules.clearing import SETTLEMENT_CYCLE, AdValoremCharge, charges_in_force
from lionrock.trading.events import InstrumentListed, TradeExecuted

MAX_FX_QUOTES_PER_DAY = 64
MAX_COUNTERS = 8
HKD = Currency.HKD.value

# An open position: [qty, cash, charges {collector: HKD minor}, due ISO date, runs failed, buy-in flagged]
Position = list[Any]


@lru_cache(maxsize=4096)
def _trade_day(day_iso: str) -> tuple[date, date, str, tuple[tuple[str, AdValoremCharge], ...]]:
    """A trade day's date, its settlement day (T+n of the cycle in force) as a date and in ISO, and
    the charges in force (`rules.clearing.charges_in_force`): the same for every trade of the day."""
    day = date.fromisoformat(day_iso)
    due = add_business_days(day, SETTLEMENT_CYCLE.in_force(day).business_days)
    return day, due, due.isoformat(), charges_in_force(day)


def _key(account: str, security: str, currency: str) -> str:
    return f"{account}|{security}|{currency}"


def _split(key: str) -> tuple[str, str, str]:
    account, security, currency = key.split("|")
    return account, security, currency


_APPLICANT_KINDS = ("client", "participant")
"""Who may hold IPO application money."""


def funding_account(account: str) -> str:
    """Where IPO money comes from when an account falls short: its participant's financing line."""
    participant = participant_of(account)
    return f"X:FUNDING:{participant}" if participant else "X:FUNDING"


class ClearingContext:
    name: ClassVar[str] = "clearing"
    command_types: ClassVar[tuple[type[Command], ...]] = CLEARING_COMMANDS
    observed_event_types: ClassVar[tuple[type[Event], ...]] = (
        TradeExecuted,
        InstrumentListed,
        IpoApplicationsFunded,
        IpoSettlementInstructed,
    )

    def __init__(self) -> None:
        self.ledger = Ledger()
        self.names: dict[str, str] = {}
        self.security_of: dict[str, str] = {}
        self.counter_currency: dict[str, str] = {}
        self.fx: dict[str, dict[str, list[int]]] = {}
        self._fx_days: list[str] = []
        self.pending: dict[str, dict[str, Position]] = {}
        """Due ISO date -> position key -> position, netted as trades arrive (not yet due)."""
        self.open: dict[str, Position] = {}
        """Positions due and not yet settled (carried from run to run)."""
        self.deferred: list[list[Any]] = []
        """Trades waiting for an FX rate: [trade_id, instrument, currency, price, qty, buyer, seller, ISO date]."""
        self.holds: dict[str, dict[str, int]] = {}
        self.last_run = ""
        self._day = HkDay()
        """The Hong Kong date of a trade's time (not state: a cache of `hk_date`)."""

    # -- queries (projections read these through events; tests and the CLI may call them) -------
    def balance(self, account: str, asset: str) -> int:
        return self.ledger.balance(account, asset)

    def security(self, instrument: str) -> str:
        return self.security_of.get(instrument, instrument)

    def rate(self, base: str, quote: str, on: date) -> tuple[Rate, date] | None:
        """The latest rate for ``base -> quote`` recorded for a day on or before ``on``."""
        if base == quote:
            return Rate(1, 1), on
        i = bisect.bisect_right(self._fx_days, on.isoformat())
        while i > 0:
            i -= 1
            day = self._fx_days[i]
            quotes = self.fx[day]
            direct = quotes.get(f"{base}/{quote}")
            if direct is not None:
                return Rate(direct[0], direct[1]), date.fromisoformat(day)
            inverse = quotes.get(f"{quote}/{base}")
            if inverse is not None and inverse[0] > 0:
                return Rate(inverse[1], inverse[0]), date.fromisoformat(day)
        return None

    # -- commands -------------------------------------------------------------------------------
    def execute(self, command: Command, stamp: Stamp) -> list[Event]:
        command = cast(ClearingCommand, command)  # the engine routes only `command_types` here
        match command:
            case DepositCash():
                return self._deposit(command)
            case WithdrawCash():
                return self._withdraw(command)
            case CreditSecurities():
                return self._credit(command)
            case RunSettlement():
                return self._run_settlement(command.day, stamp)
            case RecordFxRates():
                return self._record_fx(command)
            case ConvertCurrency():
                return self._convert(command, stamp)
            case RegisterSecurity():
                return self._register(command)
            case TransferBetweenCounters():
                return self._inter_counter(command)
            case OpenClearingAccount():
                kind = self._require_account(command.account, "account")
                self.names[command.account] = command.name
                return [ClearingAccountOpened(account=command.account, kind=kind, name=command.name)]
            case _:
                assert_never(command)

    def _require_account(self, account: str, field: str, *, kinds: tuple[str, ...] = ()) -> str:
        kind = account_kind(account)
        require(
            kind is not None,
            ClearingCode.MALFORMED_ACCOUNT,
            field,
            f"{account!r} is not P:<p>, C:<p>:<client>, I:<id>, F:<name>, H:<name> or X:<name>",
        )
        assert kind is not None
        if kinds:
            require(kind in kinds, ClearingCode.WRONG_ACCOUNT_TYPE, field, f"{account} is a {kind} account; expected {' or '.join(kinds)}")
        return kind

    def _require_currency(self, currency: str, field: str) -> None:
        require(currency in CASH_ASSETS, ClearingCode.UNKNOWN_CURRENCY, field, f"{currency!r} is not one of {', '.join(CASH_ASSETS)}")

    def _deposit(self, c: DepositCash) -> list[Event]:
        self._require_account(c.account, "account", kinds=("participant", "client", "issuer", "clearing_house"))
        self._require_account(c.source, "source", kinds=("external",))
        self._require_currency(c.currency, "currency")
        require(c.amount > 0, ClearingCode.NON_POSITIVE_AMOUNT, "amount", f"must be positive, got {c.amount}")
        postings = [Posting(c.source, c.account, c.currency, c.amount)]
        self.ledger.apply(postings)
        return [CashDeposited(account=c.account, currency=c.currency, amount=c.amount, source=c.source, postings=postings)]

    def _withdraw(self, c: WithdrawCash) -> list[Event]:
        self._require_account(c.account, "account", kinds=("participant", "client", "issuer", "collector"))
        self._require_account(c.destination, "destination", kinds=("external",))
        self._require_currency(c.currency, "currency")
        require(c.amount > 0, ClearingCode.NON_POSITIVE_AMOUNT, "amount", f"must be positive, got {c.amount}")
        have = self.ledger.balance(c.account, c.currency)
        require(
            have >= c.amount, ClearingCode.INSUFFICIENT_CASH, "amount", f"{c.account} holds {have} {c.currency}, cannot withdraw {c.amount}"
        )
        postings = [Posting(c.account, c.destination, c.currency, c.amount)]
        self.ledger.apply(postings)
        return [CashWithdrawn(account=c.account, currency=c.currency, amount=c.amount, destination=c.destination, postings=postings)]

    def _credit(self, c: CreditSecurities) -> list[Event]:
        self._require_account(c.account, "account", kinds=("participant", "client", "issuer"))
        source_kind = self._require_account(c.source, "source", kinds=("participant", "client", "issuer"))
        require(c.quantity > 0, ClearingCode.NON_POSITIVE_AMOUNT, "quantity", f"must be positive, got {c.quantity}")
        require(c.source != c.account, ClearingCode.MALFORMED_ACCOUNT, "source", "source and account are the same")
        security = self.security(c.instrument)
        asset = security_asset(security)
        issued = source_kind == "issuer"
        if not issued:
            have = self.ledger.balance(c.source, asset)
            require(
                have >= c.quantity,
                ClearingCode.INSUFFICIENT_SECURITIES,
                "quantity",
                f"{c.source} holds {have} of {security}, cannot deliver {c.quantity}",
            )
        postings = [Posting(c.source, c.account, asset, c.quantity)]
        self.ledger.apply(postings)
        return [
            SecuritiesCredited(account=c.account, security=security, quantity=c.quantity, source=c.source, issued=issued, postings=postings)
        ]

    def _record_fx(self, c: RecordFxRates) -> list[Event]:
        require(
            0 < len(c.rates) <= MAX_FX_QUOTES_PER_DAY, ClearingCode.LIMIT_EXCEEDED, "rates", f"give 1 to {MAX_FX_QUOTES_PER_DAY} quotes"
        )
        for i, q in enumerate(c.rates):
            self._require_currency(q.base, f"rates[{i}].base")
            self._require_currency(q.quote, f"rates[{i}].quote")
            require(
                q.base != q.quote and q.rate.numerator > 0,
                ClearingCode.BAD_FX_RATE,
                f"rates[{i}]",
                "need two different currencies and a positive rate",
            )
        day = c.day.isoformat()
        if day not in self.fx:
            bisect.insort(self._fx_days, day)
            self.fx[day] = {}
        for q in c.rates:
            self.fx[day][f"{q.base}/{q.quote}"] = [q.rate.numerator, q.rate.denominator]
        return [FxRatesRecorded(day=c.day, rates=[(q.base, q.quote, q.rate) for q in c.rates])]

    def _convert(self, c: ConvertCurrency, stamp: Stamp) -> list[Event]:
        self._require_account(c.account, "account", kinds=("participant", "client", "issuer"))
        self._require_currency(c.sell_currency, "sell_currency")
        self._require_currency(c.buy_currency, "buy_currency")
        require(c.sell_currency != c.buy_currency, ClearingCode.BAD_FX_RATE, "buy_currency", "same as sell_currency")
        require(c.sell_amount > 0, ClearingCode.NON_POSITIVE_AMOUNT, "sell_amount", f"must be positive, got {c.sell_amount}")
        today = hk_date(stamp.at_ns)
        found = self.rate(c.sell_currency, c.buy_currency, today)
        if found is None:
            fail(ClearingCode.NO_FX_RATE, "sell_currency", f"no {c.sell_currency}/{c.buy_currency} rate recorded on or before {today}")
        rate, rate_day = found
        have = self.ledger.balance(c.account, c.sell_currency)
        require(have >= c.sell_amount, ClearingCode.INSUFFICIENT_CASH, "sell_amount", f"{c.account} holds {have} {c.sell_currency}")
        bought = round_div(c.sell_amount * rate.numerator, rate.denominator, Rounding.DOWN)
        require(bought > 0, ClearingCode.CONVERSION_TOO_SMALL, "sell_amount", "buys less than one minor unit")
        postings = [Posting(c.account, FX_DEALER, c.sell_currency, c.sell_amount), Posting(FX_DEALER, c.account, c.buy_currency, bought)]
        self.ledger.apply(postings)
        return [
            CurrencyConverted(
                account=c.account,
                sell_currency=c.sell_currency,
                sell_amount=c.sell_amount,
                buy_currency=c.buy_currency,
                buy_amount=bought,
                rate=rate,
                rate_day=rate_day,
                postings=postings,
            )
        ]

    def _register(self, c: RegisterSecurity) -> list[Event]:
        require(c.security and "|" not in c.security, ClearingCode.COUNTER_CONFLICT, "security", "must be a non-empty code")
        require(0 < len(c.counters) <= MAX_COUNTERS, ClearingCode.LIMIT_EXCEEDED, "counters", f"give 1 to {MAX_COUNTERS} counters")
        for i, (instrument, currency) in enumerate(c.counters):
            self._require_currency(currency, f"counters[{i}]")
            current = self.security(instrument)
            if current != c.security:
                held = any(security_asset(current) in h for h in self.ledger.balances.values())
                require(
                    not held, ClearingCode.COUNTER_CONFLICT, f"counters[{i}]", f"{instrument} already has positions as security {current}"
                )
        for instrument, currency in c.counters:
            self.security_of[instrument] = c.security
            self.counter_currency[instrument] = currency
        return [SecurityRegistered(security=c.security, counters=[(i, cur) for i, cur in c.counters])]

    def _inter_counter(self, c: TransferBetweenCounters) -> list[Event]:
        self._require_account(c.account, "account", kinds=("participant", "client"))
        require(c.quantity > 0, ClearingCode.NON_POSITIVE_AMOUNT, "quantity", f"must be positive, got {c.quantity}")
        security = self.security(c.from_instrument)
        require(
            c.from_instrument != c.to_instrument and security == self.security(c.to_instrument),
            ClearingCode.NOT_SAME_SECURITY,
            "to_instrument",
            f"{c.from_instrument} and {c.to_instrument} are not two counters of one security",
        )
        have = self.ledger.balance(c.account, security_asset(security))
        require(have >= c.quantity, ClearingCode.INSUFFICIENT_SECURITIES, "quantity", f"{c.account} holds {have} of {security}")
        return [
            CountersTransferred(
                account=c.account, security=security, from_instrument=c.from_instrument, to_instrument=c.to_instrument, quantity=c.quantity
            )
        ]

    # -- observed events ------------------------------------------------------------------------
    def observe(self, event: Event, stamp: Stamp) -> list[Event]:
        match event:
            case TradeExecuted():
                return self._on_trade(event, self._day.day(stamp.at_ns))
            case InstrumentListed():
                return self._on_listed(event)
            case IpoApplicationsFunded():
                return self._on_funded(event)
            case IpoSettlementInstructed():
                return self._on_ipo_settlement(event)
        return []

    def _on_listed(self, e: InstrumentListed) -> list[Event]:
        if e.instrument in self.security_of and not e.counter_of:
            return []
        security = self.security(e.counter_of) if e.counter_of else e.instrument
        self.security_of[e.instrument] = security
        self.counter_currency[e.instrument] = e.currency
        if e.counter_of:
            self.security_of.setdefault(e.counter_of, security)
        return [SecurityRegistered(security=security, counters=[(e.instrument, e.currency)])]

    def _to_hkd(self, amount: int, currency: str, on: date) -> int | None:
        if currency == HKD:
            return amount
        found = self.rate(currency, HKD, on)
        if found is None:
            return None
        rate = found[0]
        return round_div(amount * rate.numerator, rate.denominator, Rounding.HALF_UP)

    def _on_trade(self, e: TradeExecuted, day: date) -> list[Event]:
        record = [e.trade_id, e.instrument, e.currency, e.price, e.quantity, e.buyer, e.seller, day.isoformat()]
        cleared = self._clear(record)
        if cleared is not None:
            return [cleared]
        self.deferred.append(record)
        return [
            TradeClearingDeferred(
                trade_id=e.trade_id,
                instrument=e.instrument,
                currency=e.currency,
                trade_date=day,
                reason=f"no {e.currency}/HKD rate recorded on or before {day}",
            )
        ]

    def _clear(self, record: list[Any]) -> TradeCleared | None:
        trade_id, instrument, currency, price, quantity, buyer, seller, day_iso = record
        day, due, due_iso, rules = _trade_day(day_iso)
        consideration = consideration_minor(price, quantity)
        hkd = self._to_hkd(consideration, currency, day)
        if hkd is None:
            return None
        security = self.security(instrument)
        charges = [(collector, amount) for collector, rule in rules if (amount := rule.charge(hkd)) > 0]  # = trade_charges(hkd, day)
        bucket = self.pending.get(due_iso)
        if bucket is None:
            bucket = self.pending[due_iso] = {}
        self._add(bucket, f"{buyer}|{security}|{currency}", quantity, -consideration, charges, due_iso)
        self._add(bucket, f"{seller}|{security}|{currency}", -quantity, consideration, charges, due_iso)
        return TradeCleared(
            trade_id=trade_id,
            instrument=instrument,
            security=security,
            currency=currency,
            price=price,
            quantity=quantity,
            consideration=consideration,
            consideration_hkd=hkd,
            trade_date=day,
            settle_date=due,
            buyer=buyer,
            seller=seller,
            buyer_charges=charges,
            seller_charges=charges,
        )

    @staticmethod
    def _add(bucket: dict[str, Position], key: str, qty: int, cash: int, charges: list[tuple[str, int]], due_iso: str) -> None:
        pos = bucket.get(key)
        if pos is None:
            pos = bucket[key] = [0, 0, {}, due_iso, 0, False]
        pos[0] += qty
        pos[1] += cash
        fees = pos[2]
        for collector, amount in charges:
            fees[collector] = fees.get(collector, 0) + amount

    # -- settlement -------------------------------------------------------------------------------
    def _run_settlement(self, day: date, stamp: Stamp) -> list[Event]:
        today = hk_date(stamp.at_ns)
        require(is_business_day(day), ClearingCode.NOT_A_BUSINESS_DAY, "day", f"{day} is not an XHKG business day")
        require(day <= today, ClearingCode.SETTLEMENT_DAY_IN_FUTURE, "day", f"{day} is after today ({today})")
        require(
            day.isoformat() >= self.last_run,
            ClearingCode.SETTLEMENT_DAY_BEFORE_LAST_RUN,
            "day",
            f"settlement already ran for {self.last_run}",
        )
        self.last_run = day.isoformat()
        events: list[Event] = []
        still: list[list[Any]] = []
        for record in self.deferred:
            cleared = self._clear(record)
            if cleared is None:
                still.append(record)
            else:
                events.append(cleared)
        self.deferred = still
        for due in sorted(d for d in self.pending if d <= day.isoformat()):
            for key, pos in self.pending.pop(due).items():
                self._merge_open(key, pos)
        postings: list[Posting] = []
        failures = awaiting = settled = 0
        order = sorted(self.open, key=lambda k: (0 if self.open[k][0] < 0 else 1 if self.open[k][0] == 0 else 2, k))
        for key in order:
            outcome = self._settle_position(key, day, postings, events)
            if outcome == "settled":
                settled += 1
            elif outcome == "awaiting":
                awaiting += 1
            else:
                failures += 1
        for record in self.deferred:
            failures += 1
            events.append(
                SettlementFailed(
                    day=day,
                    account=record[5],
                    security=self.security(record[1]),
                    currency=record[2],
                    kind="FX_RATE",
                    asset=record[2],
                    required=0,
                    available=0,
                    due_date=day,
                    days_failed=0,
                )
            )
        events.append(
            SettlementRunCompleted(
                day=day,
                positions_settled=settled,
                positions_open=len(self.open),
                awaiting_delivery=awaiting,
                failures=failures,
                postings=postings,
            )
        )
        return events

    def _merge_open(self, key: str, pos: Position) -> None:
        cur = self.open.get(key)
        if cur is None:
            self.open[key] = pos
            return
        cur[0] += pos[0]
        cur[1] += pos[1]
        for collector, amount in pos[2].items():
            cur[2][collector] = cur[2].get(collector, 0) + amount
        cur[3] = min(cur[3], pos[3])

    def _settle_position(self, key: str, day: date, postings: list[Posting], events: list[Event]) -> str:
        account, security, currency = _split(key)
        qty, cash, charges, due_iso, _runs, _flagged = self.open[key]
        asset = security_asset(security)
        held = self.ledger.balances.get(account) or {}
        if qty < 0:
            have = held.get(asset, 0)
            if have < -qty:
                return self._fail(key, day, "SECURITIES", asset, -qty, have, events)
        fees = sum(charges.values())
        need = [(HKD, cash - fees)] if currency == HKD else sorted(((currency, cash), (HKD, -fees)))
        for cur, net in need:
            if net < 0:
                have = held.get(cur, 0)
                if have < -net:
                    return self._fail(key, day, "MONEY", cur, -net, have, events)
        if qty > 0 and self.ledger.balance(CLEARING_HOUSE, asset) < qty:
            return "awaiting"
        moves: list[Posting] = []
        if qty < 0:
            moves.append(Posting(account, CLEARING_HOUSE, asset, -qty))
        elif qty > 0:
            moves.append(Posting(CLEARING_HOUSE, account, asset, qty))
        if cash > 0:
            moves.append(Posting(CLEARING_HOUSE, account, currency, cash))
        elif cash < 0:
            moves.append(Posting(account, CLEARING_HOUSE, currency, -cash))
        for collector in sorted(charges):
            if charges[collector] > 0:
                moves.append(Posting(account, collector, HKD, charges[collector]))
        self.ledger.apply(moves)
        postings.extend(moves)
        del self.open[key]
        return "settled"

    def _fail(self, key: str, day: date, kind: str, asset: str, required: int, available: int, events: list[Event]) -> str:
        account, security, currency = _split(key)
        pos = self.open[key]
        pos[4] += 1
        due = date.fromisoformat(pos[3])
        events.append(
            SettlementFailed(
                day=day,
                account=account,
                security=security,
                currency=currency,
                kind=kind,
                asset=asset,
                required=required,
                available=available,
                due_date=due,
                days_failed=pos[4],
            )
        )
        cycle = SETTLEMENT_CYCLE.in_force(due)
        if kind == "SECURITIES" and not pos[5] and day >= add_business_days(due, cycle.buy_in_after_business_days):
            pos[5] = True
            events.append(BuyInRequired(day=day, account=account, security=security, quantity=-pos[0], due_date=due, rule=cycle.rule))
        return "failed"

    # -- IPO money and shares ---------------------------------------------------------------------
    def _fund(self, account: str, currency: str, amount: int, postings: list[Posting], financed: list[tuple[str, int]]) -> None:
        """Make sure ``account`` holds ``amount``: draw any shortfall from its financing line."""
        have = self.ledger.balance(account, currency)
        if have < amount:
            p = Posting(funding_account(account), account, currency, amount - have)
            self.ledger.post(p)
            postings.append(p)
            financed.append((account, amount - have))

    def _on_funded(self, e: IpoApplicationsFunded) -> list[Event]:
        hold = f"H:FINI:{e.offering_id}"
        ccy = e.currency
        if ccy not in CASH_ASSETS or account_kind(hold) is None:
            return [IpoSettlementFailed(offering_id=e.offering_id, reason=f"cannot hold funds: currency {ccy!r} / offering id")]
        postings: list[Posting] = []
        financed: list[tuple[str, int]] = []
        held = self.holds.setdefault(e.offering_id, {})
        total = 0
        # One loop over every application's hold (a public offer has hundreds of thousands): the
        # names are checked once (the hold account and currency above, each applicant's account
        # here, its financing line on first use) and each move goes straight to the ledger.
        balances = self.ledger.balances
        transfer = self.ledger.transfer
        append = postings.append
        lines: dict[str, str] = {}
        for account, amount in e.holds:
            if amount <= 0 or account_kind(account) not in _APPLICANT_KINDS:
                continue
            cash = balances.get(account)
            have = cash.get(ccy, 0) if cash else 0
            if have < amount:  # the shortfall comes from the participant's financing line (`_fund`)
                participant = participant_of(account)
                line = lines.get(participant)
                if line is None:
                    line = lines[participant] = funding_account(account)
                    invariant(account_kind(line) == "external", "financing line %r is not an external account", line)
                append(Posting(line, account, ccy, amount - have))
                financed.append((account, amount - have))
                if have == 0:  # all of it financed: 0 -> amount -> 0 in the account, so one move
                    append(Posting(account, hold, ccy, amount))  # line -> hold gives the same balances
                    transfer(line, hold, ccy, amount)
                    held[account] = held.get(account, 0) + amount
                    total += amount
                    continue
                transfer(line, account, ccy, amount - have)
            append(Posting(account, hold, ccy, amount))
            transfer(account, hold, ccy, amount)
            held[account] = held.get(account, 0) + amount
            total += amount
        return [IpoFundsHeld(offering_id=e.offering_id, currency=ccy, hold_account=hold, total=total, financed=financed, postings=postings)]

    def _on_ipo_settlement(self, e: IpoSettlementInstructed) -> list[Event]:
        hold = f"H:FINI:{e.offering_id}"
        security = self.security(e.instrument)
        asset = security_asset(security)
        source_kind = account_kind(e.issuer_account)
        shares = sum(s for _, s, _ in e.allotments)
        problem = ""
        if e.currency not in CASH_ASSETS:
            problem = f"unknown currency {e.currency!r}"
        elif source_kind is None or account_kind(hold) is None:
            problem = f"malformed issuer account {e.issuer_account!r} or offering id"
        elif any(account_kind(a) not in ("client", "participant", "issuer") or s < 0 or c < 0 for a, s, c in e.allotments):
            problem = "an allotment names a malformed account or a negative amount"
        elif source_kind != "issuer" and self.ledger.balance(e.issuer_account, asset) < shares:
            problem = f"{e.issuer_account} holds {self.ledger.balance(e.issuer_account, asset)} of {security}, cannot deliver {shares}"
        if problem:
            return [IpoSettlementFailed(offering_id=e.offering_id, reason=problem)]
        return [self._settle_ipo(e, hold, asset, security)]

    def _settle_ipo(self, e: IpoSettlementInstructed, hold: str, asset: str, security: str) -> IpoSettled:
        ccy = e.currency
        held = self.holds.get(e.offering_id, {})
        charges: dict[str, int] = {}
        for account, amount in e.account_fees:
            charges[account] = charges.get(account, 0) + max(amount, 0)
        postings: list[Posting] = []
        financed: list[tuple[str, int]] = []
        notes: list[str] = []
        post = self.ledger.post
        append = postings.append

        def move(source: str, destination: str, asset_: str, amount: int) -> None:
            if amount > 0:
                p = Posting(source, destination, asset_, amount)
                post(p)
                append(p)

        # The hot loops below (refunds, shares to allottees) move by `Ledger.fan_out`, the names
        # checked once: the hold, the currency, the issuer and each allottee by `_on_ipo_settlement`,
        # a refunded or remaining hold's account when its money was held, the share asset here.
        shares_ok = asset_valid(asset)

        gross = fee_budget = 0
        for account, _shares, consideration in e.allotments:
            fee = charges.get(account, 0)
            due = consideration + fee
            gross += consideration
            fee_budget += fee
            from_hold = min(held.get(account, 0), due)
            if from_hold:
                held[account] -= from_hold
            if due > from_hold:
                self._fund(account, ccy, due - from_hold, postings, financed)
                move(account, hold, ccy, due - from_hold)
        refunded = 0
        paid: list[tuple[str, int]] = []
        for account, amount in e.refunds:
            pay = min(max(amount, 0), held.get(account, 0))
            if pay < amount:
                notes.append(f"refund to {account} capped at its remaining hold {pay} (asked {amount})")
            if pay > 0:
                held[account] -= pay
                append(Posting(hold, account, ccy, pay))
                paid.append((account, pay))
                refunded += pay
        for account in sorted(held):
            rest = held[account]
            if rest > 0:
                notes.append(f"hold of {account} not used or refunded by the instruction; refunded {rest}")
                append(Posting(hold, account, ccy, rest))
                paid.append((account, rest))
                refunded += rest
                held[account] = 0
        self.ledger.fan_out(hold, ccy, paid)
        issuer = e.issuer_account
        delivered: list[tuple[str, int]] = []
        for account, shares, _c in e.allotments:
            if shares > 0:
                if shares_ok and account != issuer:
                    append(Posting(issuer, account, asset, shares))
                    delivered.append((account, shares))
                else:
                    self.ledger.fan_out(issuer, asset, delivered)
                    delivered.clear()
                    move(issuer, account, asset, shares)  # `post` names the bug
        self.ledger.fan_out(issuer, asset, delivered)
        fees_paid = 0
        for collector, amount in e.fees:
            pay = min(max(amount, 0), fee_budget - fees_paid)
            if account_kind(collector) is None:
                notes.append(f"fee to malformed collector {collector!r} not paid")
                continue
            if pay < amount:
                notes.append(f"fee to {collector} capped at charges collected ({pay} of {amount})")
            move(hold, collector, ccy, pay)
            fees_paid += pay
        if fees_paid < fee_budget:
            notes.append(f"charges collected exceed fees listed by {fee_budget - fees_paid}; paid to {e.issuer_account}")
        move(hold, e.issuer_account, ccy, gross + fee_budget - fees_paid)
        remaining = {a: v for a, v in held.items() if v}
        if remaining:
            self.holds[e.offering_id] = remaining
        else:
            self.holds.pop(e.offering_id, None)
        invariant(
            self.ledger.balance(hold, ccy) == sum(remaining.values()), f"FINI hold {hold} does not match its applicants' remaining holds"
        )
        return IpoSettled(
            offering_id=e.offering_id,
            security=security,
            currency=ccy,
            issuer_account=e.issuer_account,
            shares_delivered=sum(s for _, s, _ in e.allotments),
            gross_proceeds=gross,
            refunds=refunded,
            fees=fees_paid,
            financed=financed,
            notes=notes,
            postings=postings,
        )

    # -- state ------------------------------------------------------------------------------------
    def snapshot(self) -> Any:
        return {
            "balances": self.ledger.balances,
            "names": self.names,
            "security_of": self.security_of,
            "counter_currency": self.counter_currency,
            "fx": self.fx,
            "pending": self.pending,
            "open": self.open,
            "deferred": self.deferred,
            "holds": self.holds,
            "last_run": self.last_run,
        }

    def restore(self, data: Any) -> None:
        self.ledger.balances = {a: dict(h) for a, h in data["balances"].items()}
        self.names = dict(data["names"])
        self.security_of = dict(data["security_of"])
        self.counter_currency = dict(data["counter_currency"])
        self.fx = {d: {p: list(r) for p, r in q.items()} for d, q in data["fx"].items()}
        self._fx_days = sorted(self.fx)
        self.pending = {d: {k: [p[0], p[1], dict(p[2]), p[3], p[4], p[5]] for k, p in b.items()} for d, b in data["pending"].items()}
        self.open = {k: [p[0], p[1], dict(p[2]), p[3], p[4], p[5]] for k, p in data["open"].items()}
        self.deferred = [list(r) for r in data["deferred"]]
        self.holds = {o: dict(h) for o, h in data["holds"].items()}
        self.last_run = data["last_run"]

    def canonical_state(self) -> Any:
        return self.snapshot()


__all__ = ["ClearingContext", "funding_account"]
