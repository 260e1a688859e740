"""Trading venue under HKEX rules: order books, sessions, auctions, volatility control, market data.

Drive it through the engine with the commands in `lionrock.trading.commands`; it answers with the
events in `lionrock.trading.events`. See docs/trading.md.
"""

from lionrock.trading._codes import TradingCode
from lionrock.trading._venue import PHASES, TradingContext
from lionrock.trading.book import FastBook, PyFastBook, ReferenceBook

__all__ = ["PHASES", "FastBook", "PyFastBook", "ReferenceBook", "TradingCode", "TradingContext"]
