"""Clearing and settlement: double-entry ledger, T+2, fees and stamp duty, currencies, dual counters."""
