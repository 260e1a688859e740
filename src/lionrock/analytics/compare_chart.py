"""The mechanism comparison as a chart (`lionrock.offering.compare`): what a sponsor weighs when
choosing a mechanism, one colour per mechanism open to the deal.

Three panels side by side: the public tranche (initial and final, % of the offer), the retail
outcome (one-lot success rate, demand filled) and placee concentration (top 1/5/10/25 placees' share
of the international offer). `comparison_figure` returns the plotly figure for a report to lay
out; `comparison_html` a fragment (``include_plotlyjs`` as the caller needs: the run report inlines
plotly once for the whole page).
"""

from __future__ import annotations

from typing import Literal

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lionrock.offering.compare import CONCENTRATION_TOPS, Comparison, MechanismOutcome


def _label(row: MechanismOutcome) -> str:
    return f"{row.label} (chosen)" if row.actual else row.label


def _pct(bp: int | None) -> float | None:
    return None if bp is None else bp / 100


def comparison_figure(comparison: Comparison) -> go.Figure:
    """Grouped bars per mechanism open to the deal; mechanisms not open are named in the title."""
    rows = [r for r in comparison.rows if r.available]
    closed = [r.mechanism for r in comparison.rows if not r.available]
    figure = make_subplots(
        rows=1, cols=3, subplot_titles=("Public tranche, % of offer", "Retail outcome, %", "Placee concentration, % of international offer")
    )
    for row in rows:
        initial_bp = row.initial_public_shares * 10_000 // row.offer_shares if row.offer_shares else 0
        name = _label(row)
        figure.add_trace(
            go.Bar(
                name=name,
                legendgroup=name,
                x=["initial", "final"],
                y=[_pct(initial_bp), _pct(row.public_share_of_offer_bp)],
                hovertemplate="%{x}: %{y:.2f}%<extra>" + name + "</extra>",
            ),
            row=1,
            col=1,
        )
        figure.add_trace(
            go.Bar(
                name=name,
                legendgroup=name,
                showlegend=False,
                x=["one-lot success", "demand filled"],
                y=[_pct(row.one_lot_success_bp), _pct(row.public_demand_filled_bp)],
                hovertemplate="%{x}: %{y:.2f}%<extra>" + name + "</extra>",
            ),
            row=1,
            col=2,
        )
        tops = [_pct(row.top_placees_bp.get(f"top{k}_international")) for k in CONCENTRATION_TOPS]
        figure.add_trace(
            go.Bar(
                name=name,
                legendgroup=name,
                showlegend=False,
                x=[f"top {k}" for k in CONCENTRATION_TOPS],
                y=tops,
                hovertemplate="%{x}: %{y:.2f}%<extra>" + name + "</extra>",
            ),
            row=1,
            col=3,
        )
    title = f"{comparison.offering_id}: one book under each mechanism open to the deal"
    if closed:
        title += f" (not open: {', '.join(closed)})"
    figure.update_layout(barmode="group", title=title, template="plotly_white", legend={"orientation": "h", "y": -0.15})
    return figure


def comparison_html(comparison: Comparison, *, include_plotlyjs: bool | Literal["cdn"] = False, height: int = 420) -> str:
    """The figure as an HTML fragment (``include_plotlyjs=True`` for a file that stands alone, offline)."""
    figure = comparison_figure(comparison)
    figure.update_layout(height=height, margin={"l": 50, "r": 20, "t": 70, "b": 60})
    return str(figure.to_html(full_html=include_plotlyjs is True, include_plotlyjs=include_plotlyjs, config={"displaylogo": False}))


__all__ = ["comparison_figure", "comparison_html"]
