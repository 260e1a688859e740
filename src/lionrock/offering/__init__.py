"""IPO offering: bookbuilding, price setting, tranches and clawback, balloting, settlement timetable."""
