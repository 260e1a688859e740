"""Clearing and settlement: double-entry ledger, T+2, fees and stamp duty, currencies, dual counters."""

from lionrock.clearing._codes import ClearingCode
from lionrock.clearing.context import ClearingContext, funding_account
from lionrock.clearing.ledger import Ledger, account_kind, may_go_negative, security_asset

__all__ = ["ClearingCode", "ClearingContext", "Ledger", "account_kind", "funding_account", "may_go_negative", "security_asset"]
