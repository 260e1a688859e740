"""The comparison chart (`lionrock.analytics.compare_chart`): one bar group per mechanism open to
the deal, the closed ones named in the title, values the comparison's own figures."""

from __future__ import annotations

from test_compare import compared

from lionrock.analytics.compare_chart import comparison_figure, comparison_html


def test_chart_has_each_open_mechanism_with_its_figures() -> None:
    _, c = compared("ridge-outdoor-2720-2026")
    figure = comparison_figure(c)
    names = {trace.name for trace in figure.data}
    assert names == {"Mechanism B (fixed 10%) (chosen)", "Mechanism A"}
    assert "not open: PN18, 18C" in figure.layout.title.text
    a = c.row("A")
    tranche = next(t for t in figure.data if t.name == "Mechanism A" and list(t.x) == ["initial", "final"])
    assert list(tranche.y) == [a.initial_public_shares * 10_000 // a.offer_shares / 100, a.public_share_of_offer_bp / 100]
    tops = next(t for t in figure.data if t.name == "Mechanism A" and list(t.x)[0] == "top 1")
    assert list(tops.y) == [a.top_placees_bp[f"top{k}_international"] / 100 for k in (1, 5, 10, 25)]
    fragment = comparison_html(c)
    assert "<div" in fragment and "<html>" not in fragment


def test_report_allocation_section_carries_the_chart_where_a_comparison_is_given() -> None:
    from lionrock.analytics.model import OfferingRow, RunData
    from lionrock.analytics.report import render_report

    _, c = compared("ridge-outdoor-2720-2026")
    data = RunData(
        offerings={
            c.offering_id: OfferingRow(offering_id=c.offering_id, issuer_id="RIDGE", name="Ridge Outdoor", instrument="02720"),
            "OTHER": OfferingRow(offering_id="OTHER", issuer_id="O", name="Other", instrument="09999"),
        }
    )
    with_chart = render_report(data, comparisons={c.offering_id: c})
    without = render_report(data)
    assert "one book under each mechanism open to the deal" in with_chart and "Mechanism A" in with_chart
    assert "one book under each mechanism open to the deal" not in without
    assert with_chart.count("one book under each mechanism open to the deal") == 1  # only the offering with a comparison
