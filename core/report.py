"""What the dashboard shows about one organoid, as figures, agreement numbers and a self-contained HTML report.

Everything here is a pure function of tables the library already produced (:func:`core.predict.rank_drugs`,
:func:`core.evaluation.cohort_scores.per_drug_reliability`, :mod:`core.explain.bundle_attributions`), so the
dashboard and the downloadable report show exactly the same numbers. The report embeds plotly.js once,
inline, so it opens offline (about 4.5 MB); nothing in it is fetched from the network.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from scipy.stats import spearmanr

from core.evaluation.evidence import Evidence
from core.evaluation.metrics import HEADLINE, METRICS

TOP_K = 5
RESISTANCE_COLOUR = "#c0392b"  # pushes the predicted response up
SENSITIVITY_COLOUR = "#2471a3"  # pushes the predicted response down
DIRECTION_COLOURS = {"resistance": RESISTANCE_COLOUR, "sensitivity": SENSITIVITY_COLOUR, "none": "#7f8c8d"}


def direction_labels(unit: str = "AUC") -> dict[str, str]:
    """Legend text of each attribution direction; ``unit`` is the bundle's response (AUC, ln IC50, ...)."""
    return {
        "resistance": f"pushes predicted {unit} up (toward resistance)",
        "sensitivity": f"pushes predicted {unit} down (toward sensitivity)",
        "none": "no effect",
    }


def ranking_columns(unit: str = "AUC") -> dict[str, str]:
    """Ranking table column -> header a clinician reads (the CSV download uses the same)."""
    return {
        "rank": "rank",
        "drug": "drug",
        "predicted": f"predicted {unit}",
        "uncertainty": f"± {unit}",
        "z_score": "z-score",
        "z_uncertainty": "± z",
        "tie": "tied?",
        "reliability_r": f"CV {METRICS[HEADLINE].label}",  # the headline score, per drug
        "no_better_than_naive": "no better than naive",
    }


TIED_WITH_FIRST, TIED_WITH_NEIGHBOUR = "≈ #1", "≈ next"
TIE_SENTENCE = (
    f"**tied?**: *{TIED_WITH_FIRST}* = the drug's z ± interval overlaps rank 1's, so it cannot be told "
    f"apart from the top drug; *{TIED_WITH_NEIGHBOUR}* = it overlaps the drug ranked just above or below it."
)


def tie_marks(ranking: pd.DataFrame) -> pd.Series:
    """Per drug of a ranking sorted by rank, which ranks its z cannot be told apart from: rank 1's (the
    intervals z ± z_uncertainty overlap) or, failing that, an adjacent rank's; "" when it stands apart, for
    rank 1 itself, and where no uncertainty is known."""
    z, spread = ranking["z_score"].to_numpy(float), ranking["z_uncertainty"].to_numpy(float)

    def overlaps(i: int, j: int) -> bool:
        return 0 <= j < len(z) and abs(z[i] - z[j]) <= spread[i] + spread[j]  # False when a spread is NaN

    marks = [
        TIED_WITH_FIRST
        if i > 0 and overlaps(i, 0)
        else TIED_WITH_NEIGHBOUR
        if i > 0 and (overlaps(i, i - 1) or overlaps(i, i + 1))
        else ""
        for i in range(len(z))
    ]
    return pd.Series(marks, index=ranking.index, dtype=object)


def outside_assay_range(ranking: pd.DataFrame, unit: str) -> list[str]:
    """Drugs whose predicted AUC lies outside 0-1, the range an AUC can take (none for other units): a model
    extrapolating there says "beyond the screen's range", not a precise value."""
    if unit != "AUC":
        return []
    outside = ranking[(ranking["predicted"] > 1) | (ranking["predicted"] < 0)]
    return outside.sort_values("rank")["drug"].tolist()


def without_spread(ranking: pd.DataFrame) -> pd.DataFrame:
    """The ranking with no uncertainty: for a bundle whose members share one network (zero-shot), the members'
    spread is not the model's uncertainty, so none is shown rather than a misleading near-zero."""
    return ranking.assign(uncertainty=np.nan, z_uncertainty=np.nan)


def reference_sentence(n_reference: int, cohort: str = "colorectal") -> str:
    """The sign convention in one sentence, with the size of the reference cohort."""
    source = (
        "the {n} colorectal organoids of van de Wetering 2015"
        if cohort == "colorectal"
        else "the {n} organoids of the " + cohort + " cohort"
    ).format(n=n_reference)
    return (
        f"Negative z-score = predicted more sensitive than the average organoid of the reference cohort "
        f"({source}, cross-validated predictions)."
    )


def annotate_ranking(ranking: pd.DataFrame, reliability: pd.DataFrame) -> pd.DataFrame:
    """One sample's ranking (from ``rank_drugs``) with each drug's cross-validated within-drug r attached.

    ``no_better_than_naive`` is True where the bundle's cross-validated within-drug correlation
    (fold-centred, so the naive per-drug mean and anything constant within a fold score 0) is <= 0, or could not be computed (too few screened
    organoids): the model's ordering of organoids for that drug is no better than predicting the drug's
    average.
    """
    r = reliability.set_index("drug")["r"]
    table = ranking.sort_values("rank").reset_index(drop=True)
    table["reliability_r"] = table["drug"].map(r).astype(float)
    table["no_better_than_naive"] = ~(table["reliability_r"] > 0)
    return table[[c for c in ranking_columns() if c in table.columns]]


def display_table(annotated: pd.DataFrame, unit: str = "AUC") -> pd.DataFrame:
    """Column names a clinician reads (and the CSV download uses), with the tie marks of the z-scores as
    shown (none once the spread is withheld, see :func:`without_spread`)."""
    table = annotated.sort_values("rank").assign(tie=lambda t: tie_marks(t))
    return table[[c for c in ranking_columns() if c in table.columns]].rename(columns=ranking_columns(unit))


@dataclass(frozen=True)
class RankingAgreement:
    spearman: float  # Spearman rank correlation of the two models' z-scores over shared drugs
    top_overlap: int  # drugs in both models' top k
    k: int
    n_drugs: int
    shared_top: tuple[str, ...]


def ranking_agreement(first: pd.DataFrame, second: pd.DataFrame, k: int = TOP_K) -> RankingAgreement:
    """How far two rankings of one sample agree (tables with ``drug, z_score, rank``)."""
    merged = first[["drug", "z_score", "rank"]].merge(
        second[["drug", "z_score", "rank"]], on="drug", suffixes=("_a", "_b")
    )
    rho = float(spearmanr(merged["z_score_a"], merged["z_score_b"]).statistic) if len(merged) >= 3 else float("nan")
    top_a = set(first.nsmallest(k, "rank")["drug"])
    top_b = set(second.nsmallest(k, "rank")["drug"])
    shared = tuple(sorted(top_a & top_b))
    return RankingAgreement(rho, len(shared), k, len(merged), shared)


LABEL_POSITIONS = ("top center", "bottom center", "middle right", "middle left", "top right", "bottom left")


def label_positions(x: np.ndarray, y: np.ndarray, near: float = 0.08) -> list[str]:
    """A text position per point such that points closer than ``near`` (a share of the larger axis range) get
    different positions, so neighbouring drug names do not print over each other."""
    span = max(float(np.ptp(x)) if len(x) else 0.0, float(np.ptp(y)) if len(y) else 0.0, 1e-9)
    positions: list[str] = []
    for i in range(len(x)):
        taken = {positions[j] for j in range(i) if np.hypot(x[i] - x[j], y[i] - y[j]) < near * span}
        positions.append(
            next((p for p in LABEL_POSITIONS if p not in taken), LABEL_POSITIONS[i % len(LABEL_POSITIONS)])
        )
    return positions


def z_score_scatter(
    first: pd.DataFrame, second: pd.DataFrame, first_label: str, second_label: str, k: int = TOP_K
) -> go.Figure:
    """Scatter of two models' z-scores per drug; drugs in either top k are labelled and coloured."""
    merged = first[["drug", "z_score", "rank"]].merge(
        second[["drug", "z_score", "rank"]], on="drug", suffixes=("_a", "_b")
    )
    in_a, in_b = merged["rank_a"] <= k, merged["rank_b"] <= k
    merged["group"] = np.select(
        [in_a & in_b, in_a, in_b],
        [f"top {k} of both", f"top {k}: {first_label} only", f"top {k}: {second_label} only"],
        "other",
    )
    colours = {
        f"top {k} of both": "#1e8449",
        f"top {k}: {first_label} only": "#d68910",
        f"top {k}: {second_label} only": "#8e44ad",
        "other": "#aab7b8",
    }
    agreement = ranking_agreement(first, second, k)
    labelled_rows = merged["group"] != "other"  # positions over every labelled drug, whichever trace it is in
    merged.loc[labelled_rows, "label_position"] = label_positions(
        merged.loc[labelled_rows, "z_score_a"].to_numpy(), merged.loc[labelled_rows, "z_score_b"].to_numpy()
    )
    figure = go.Figure()
    for group, colour in colours.items():
        rows = merged[merged["group"] == group]
        if rows.empty:
            continue
        labelled = group != "other"
        figure.add_trace(
            go.Scatter(
                x=rows["z_score_a"],
                y=rows["z_score_b"],
                mode="markers+text" if labelled else "markers",
                name=group,
                text=rows["drug"] if labelled else None,
                textposition=rows["label_position"] if labelled else None,
                marker={"color": colour, "size": 10 if labelled else 7},
                customdata=np.stack([rows["drug"], rows["rank_a"], rows["rank_b"]], axis=1),
                hovertemplate="%{customdata[0]}<br>"
                + first_label
                + ": z=%{x:.2f} (rank %{customdata[1]})<br>"
                + second_label
                + ": z=%{y:.2f} (rank %{customdata[2]})<extra></extra>",
            )
        )
    low = float(np.nanmin(merged[["z_score_a", "z_score_b"]].to_numpy())) if len(merged) else -1.0
    high = float(np.nanmax(merged[["z_score_a", "z_score_b"]].to_numpy())) if len(merged) else 1.0
    figure.add_trace(
        go.Scatter(
            x=[low, high],
            y=[low, high],
            mode="lines",
            name="same z-score",
            line={"color": "#bbbbbb", "dash": "dot"},
            hoverinfo="skip",
        )
    )
    figure.add_hline(y=0, line_width=1, line_color="#dddddd")
    figure.add_vline(x=0, line_width=1, line_color="#dddddd")
    figure.update_layout(
        title=f"z-scores per drug: Spearman rho = {agreement.spearman:.2f}, top-{k} overlap = "
        f"{agreement.top_overlap} of {k}",
        xaxis_title=f"{first_label} z-score (negative = more sensitive)",
        yaxis_title=f"{second_label} z-score (negative = more sensitive)",
        height=520,
        legend={"orientation": "h", "y": -0.2},
        margin={"t": 60},
    )
    return figure


def top_genes_figure(table: pd.DataFrame, title: str, n: int, unit: str = "AUC") -> go.Figure:
    """Horizontal bars of the ``n`` most important genes (table from ``core.explain.bundle_attributions``),
    signed attribution in response units, coloured by direction, most important at the top."""
    top = table.head(n).iloc[::-1]
    labels = direction_labels(unit)
    figure = go.Figure()
    for direction, colour in DIRECTION_COLOURS.items():
        rows = top[top["direction"] == direction]
        if rows.empty:
            continue
        figure.add_trace(
            go.Bar(
                x=rows["attribution"],
                y=rows["gene"],
                orientation="h",
                name=labels[direction],
                marker_color=colour,
                hovertemplate="%{y}: %{x:.4f} " + unit + "<extra></extra>",
            )
        )
    figure.update_layout(
        title=title,
        barmode="overlay",
        height=max(300, 22 * len(top) + 140),
        xaxis_title=f"attribution ({unit} units; + = toward resistance)",
        yaxis={"categoryorder": "array", "categoryarray": list(top["gene"])},
        legend={"orientation": "h", "y": -0.15},
        margin={"t": 50, "l": 90},
    )
    return figure


REPORT_GENES_SHOWN = 15  # genes per drug in the report's figure and table


def _table_html(table: pd.DataFrame, highlight_top: int = 0) -> str:
    rows = []
    header = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    for position, (_, row) in enumerate(table.iterrows()):
        cells = "".join(f"<td>{html.escape(_format(value))}</td>" for value in row)
        style = ' class="top"' if position < highlight_top else ""
        rows.append(f"<tr{style}>{cells}</tr>")
    return f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _format(value: object) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else ""
    if isinstance(value, (float, np.floating)):
        return "" if np.isnan(value) else f"{value:.3f}"
    return str(value)


_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em;color:#222;max-width:1200px}
h1{font-size:1.6em} h2{font-size:1.25em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:0.85em;margin:0.5em 0} td,th{border:1px solid #ddd;padding:3px 7px;text-align:left}
tr.top{background:#e8f6ef;font-weight:600} .note{color:#555;font-size:0.9em} .warn{background:#fdf2e9;padding:0.6em;border-left:4px solid #d68910}
.side{display:flex;gap:1.5em;flex-wrap:wrap} .side>div{flex:1 1 420px;min-width:0;overflow-x:auto}
.side table{font-size:0.75em} .side td,.side th{padding:2px 4px}
table{max-width:100%} pre{white-space:pre-wrap;overflow-wrap:anywhere} .plotly-graph-div{max-width:100%}
"""
# Every table and figure stays within the page (max-width 1200 px): side-by-side rankings wrap below each other
# when the window is narrow, and a table wider than its column scrolls inside it instead of widening the page.


def _models_html(bundles: Mapping[str, Mapping[str, object]]) -> str:
    """One row per model: its bundle, creation date, overall cross-validated within-drug r with its permutation p,
    and the verdict in words (``evidence``: an :class:`Evidence`, or its verdict as text for older callers)."""
    header = (
        "<table><thead><tr><th>model</th><th>bundle</th><th>created</th><th>within-drug r (cross-validated)</th>"
        "<th>p</th><th>does it order organoids within a drug?</th></tr></thead><tbody>"
    )
    rows = []
    for label, info in bundles.items():
        found = info.get("evidence")
        if isinstance(found, Evidence):
            score, p_value, verdict = (
                f"{found.within_drug:+.2f}",
                f"{found.p_value:.2f}",
                found.verdict().split(" (")[0],
            )
        else:
            score, p_value, verdict = "", "", str(found or "not scored")
        cells = (label, info.get("name", ""), str(info.get("created", ""))[:10], score, p_value, verdict)
        rows.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    return header + "".join(rows) + "</tbody></table>"


def build_report(
    sample: str,
    rankings: Mapping[str, pd.DataFrame],
    bundles: Mapping[str, Mapping[str, object]],
    scatter: go.Figure | None,
    n_reference: int,
    cohort: str = "colorectal",
    genes: Mapping[str, pd.DataFrame] | None = None,
    genes_bundle: str | None = None,
    genes_view: str = "",
    qc_text: str | None = None,
    generated: dt.datetime | None = None,
    k: int = TOP_K,
    unit: str = "AUC",
) -> str:
    """Self-contained HTML report of one organoid.

    ``rankings``: label (e.g. "From scratch") -> table from :func:`annotate_ranking`; ``bundles``: same
    labels -> ``{"name": bundle name, "created": manifest creation date, "evidence": its within-drug
    :class:`Evidence`}``. ``genes`` (drug -> its gene ranking from ``genes_bundle``, attribution view
    described by ``genes_view``) is optional. ``unit`` is the predicted response.
    """
    generated = generated or dt.datetime.now(dt.timezone.utc)
    plotly_included = False
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>Drug response report: {html.escape(sample)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Predicted drug response of organoid {html.escape(sample)}</h1>",
        f"<p class='note'>Generated {html.escape(generated.strftime('%Y-%m-%d %H:%M %Z'))} by the PDO drug-response "
        "dashboard (method after Prasse et al., <i>Cancers</i> 2022, 14, 3950).</p>",
        "<p class='warn'><b>Research use only.</b> Not a medical device; not for treatment decisions.</p>",
        f"<p><b>{html.escape(reference_sentence(n_reference, cohort))}</b> Rank 1 = most sensitive. The top {k} "
        "drugs of each model are highlighted. <i>tied?</i>: &asymp; #1 = its z &plusmn; interval overlaps rank 1's, "
        "so it cannot be told apart from the top drug; &asymp; next = it overlaps an adjacent rank. Drugs flagged <i>no better than naive</i> had a cross-validated "
        "within-drug correlation &le; 0: for them the model orders organoids no better than the drug's average.</p>",
        "<h2>Models</h2>",
        _models_html(bundles),
        "<p class='note'><i>within-drug r</i>: how well the model ordered the reference organoids for a drug, each "
        "predicted by a fold model that never saw it, after removing each drug's average within every test fold "
        "(0 = no better than the drug's average; the number the dashboard shows for this model on every page). "
        "<i>p</i>: how often organoids shuffled at random scored as well (1,000 shuffles).</p>",
    ]
    parts.append("<h2>Drug ranking</h2><div class='side'>")
    for label, table in rankings.items():
        parts.append(f"<div><h3>{html.escape(label)}</h3>{_table_html(display_table(table, unit), k)}</div>")
    parts.append("</div>")
    if scatter is not None:
        parts.append("<h2>Agreement of the models</h2>")
        parts.append(scatter.to_html(full_html=False, include_plotlyjs=True))
        plotly_included = True
    for drug, table in (genes or {}).items():
        parts.append(f"<h2>Genes behind the prediction for {html.escape(drug)}</h2>")
        parts.append(
            f"<p class='note'>{html.escape(genes_view)} Attributions of {html.escape(genes_bundle or '')}, "
            f"averaged over its fold models. Positive = pushes the predicted {html.escape(unit)} up (toward "
            "resistance).</p>"
        )
        figure = top_genes_figure(table, f"Top genes for {drug}", REPORT_GENES_SHOWN, unit)
        parts.append(figure.to_html(full_html=False, include_plotlyjs=not plotly_included))
        plotly_included = True
        parts.append(_table_html(table.head(REPORT_GENES_SHOWN)))
    if qc_text:
        parts.append(f"<h2>Upload quality control</h2><pre>{html.escape(qc_text)}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts)
