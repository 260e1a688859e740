"""Trading venue under HKEX rules: order books, sessions, auctions, volatility control, market data."""
