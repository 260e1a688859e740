"""Stock Connect southbound: eligibility and the daily quota."""

from lionrock.connect._codes import ConnectCode
from lionrock.connect.context import ConnectContext
from lionrock.connect.eligibility import ELIGIBLE, INELIGIBLE, SELL_ONLY, evaluate

__all__ = ["ELIGIBLE", "INELIGIBLE", "SELL_ONLY", "ConnectCode", "ConnectContext", "evaluate"]
