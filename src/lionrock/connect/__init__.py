"""Stock Connect southbound: eligibility and the daily quota."""
