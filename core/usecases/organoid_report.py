"""A self-contained HTML report of one organoid: both rankings, the models' evidence, their agreement and the
genes behind the top drugs, with exactly the numbers the app shows. It embeds plotly.js once, inline, so it
opens offline (about 4.5 MB); nothing in it is fetched from the network.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.evaluation.evidence import Evidence
from core.evaluation.held_out import HeldOutEvidence
from core.evaluation.metrics import TOP_DRUGS_OVERLAP
from core.inference.manifest import Manifest
from core.study_design import TARGET_COHORT
from core.usecases.organoid_figures import top_genes_figure
from core.usecases.ranking_table import display_table, highlighted_top, reference_sentence


@dataclass(frozen=True)
class ReportedModel:
    """One model's column of the report: its ranking of the organoid (from :func:`core.usecases.ranking.organoid_ranking`)
    and the evidence behind it (None: not scored)."""

    label: str  # what the reader calls it ("from scratch")
    manifest: Manifest
    evidence: Evidence | None
    ranking: pd.DataFrame
    held_out: HeldOutEvidence | None = None  # its score on GDSC's lines of the lineage, where measured


@dataclass(frozen=True)
class ReportedGenes:
    """The genes behind some drugs' predictions, from one bundle and one attribution view."""

    bundle: str
    view: str  # a sentence naming the attribution view and what its numbers add up to
    by_drug: Mapping[str, pd.DataFrame]  # drug -> its gene ranking (core.explain.bundle_attributions)


REPORT_GENES_SHOWN = 15  # genes per drug in the report's figure and table


def _table_html(table: pd.DataFrame, highlighted: pd.Series | None = None) -> str:
    rows = []
    header = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    for index, row in table.iterrows():
        cells = "".join(f"<td>{html.escape(_format(value))}</td>" for value in row)
        style = ' class="top"' if highlighted is not None and highlighted[index] else ""
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
.danger{background:#fdedec;color:#922b21;padding:0.6em;border-left:6px solid #c0392b}
.side{display:flex;gap:1.5em;flex-wrap:wrap} .side>div{flex:1 1 420px;min-width:0;overflow-x:auto}
.side table{font-size:0.75em} .side td,.side th{padding:2px 4px}
table{max-width:100%} pre{white-space:pre-wrap;overflow-wrap:anywhere} .plotly-graph-div{max-width:100%}
"""
# Every table and figure stays within the page (max-width 1200 px): side-by-side rankings wrap below each other
# when the window is narrow, and a table wider than its column scrolls inside it instead of widening the page.


def _models_html(models: Sequence[ReportedModel]) -> str:
    """One row per model: its bundle, creation date, overall cross-validated within-drug r with its permutation p,
    the verdict in words, and what the held-out GDSC lines say (the evidence with power; see
    :mod:`core.evaluation.held_out`)."""
    header = (
        "<table><thead><tr><th>model</th><th>bundle</th><th>created</th><th>within-drug r (cross-validated)</th>"
        "<th>p</th><th>does it order organoids within a drug?</th><th>held-out GDSC lines of the lineage</th>"
        "</tr></thead><tbody>"
    )
    rows = []
    for model in models:
        found = model.evidence
        score, p_value, verdict = (
            ("", "", "not scored")
            if found is None
            else (f"{found.within_drug:+.2f}", f"{found.p_value:.2f}", found.verdict().split(" (")[0])
        )
        lines = model.held_out
        held_out = (
            "not measured"
            if lines is None
            else f"r = {lines.evidence.within_drug:+.2f} (p = {lines.evidence.p_value:.2g}): {lines.verdict_words}"
        )
        cells = (model.label, model.manifest.name, model.manifest.created[:10], score, p_value, verdict, held_out)
        rows.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    return header + "".join(rows) + "</tbody></table>"


def organoid_report_html(
    sample: str,
    models: Sequence[ReportedModel],
    n_reference: int,
    cohort: str = TARGET_COHORT,
    scatter: go.Figure | None = None,
    genes: ReportedGenes | None = None,
    qc_text: str | None = None,
    generated: dt.datetime | None = None,
    k: int = TOP_DRUGS_OVERLAP,
    unit: str = "AUC",
    alignment: str | None = None,
    out_of_range: str | None = None,
) -> str:
    """Self-contained HTML report of one organoid.

    ``models`` in the order shown side by side; ``cohort`` is the reference cohort of the z-scores (its
    ``n_reference`` organoids); ``scatter`` the two models' z-scores against each other; ``genes`` the genes behind
    some drugs; ``qc_text`` the upload's checks; ``unit`` the predicted response. The top ``k`` drugs of each
    ranking with evidence for sensitivity are highlighted (:func:`core.usecases.ranking_table.highlighted_top`),
    unless the profile failed the out-of-range check (``out_of_range``: why, in words),
    which then stands in red at the top; ``alignment`` says how the profile was read (aligned with its cohort or not).
    """
    generated = generated or dt.datetime.now(dt.timezone.utc)
    plotly_included = False
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>Drug response report: {html.escape(sample)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Predicted drug response of organoid {html.escape(sample)}</h1>",
        f"<p class='note'>Generated {html.escape(generated.strftime('%Y-%m-%d %H:%M %Z'))} by the PDO drug-response "
        "dashboard (method after Prasse et al., <i>Cancers</i> 2022, 14, 3950).</p>",
        *(
            [
                "<p class='danger'><b>Out of range: this profile does not look like the reference organoids, so its "
                f"z-scores are not comparable with theirs and no drug is highlighted.</b> {html.escape(out_of_range)}</p>"
            ]
            if out_of_range
            else []
        ),
        "<p class='warn'><b>Research use only.</b> Not a medical device; not for treatment decisions.</p>",
        *([f"<p class='note'><b>How the profile was read:</b> {html.escape(alignment)}</p>"] if alignment else []),
        f"<p><b>{html.escape(reference_sentence(n_reference, cohort))}</b> Drugs are ranked by <i>P</i>, the "
        "probability that the organoid is more sensitive to the drug than the median reference organoid (from z and "
        "how reliably the model ordered the reference organoids for that drug), then by z; a drug the model is "
        "<i>no better than a coin</i> for gets P = 0.50. "
        + ("" if out_of_range else f"Of each model's top {k}, those with evidence for sensitivity are highlighted. ")
        + "<i>tied?</i>: &asymp; #1 = its z &plusmn; interval overlaps rank 1's, "
        "so it cannot be told apart from the top drug; &asymp; next = it overlaps an adjacent rank. Drugs flagged <i>no better than naive</i> had a cross-validated "
        "within-drug correlation &le; 0: for them the model orders organoids no better than the drug's average.</p>",
        "<h2>Models</h2>",
        _models_html(models),
        "<p class='note'><i>within-drug r</i>: how well the model ordered the reference organoids for a drug, each "
        "predicted by a fold model that never saw it, after removing each drug's average within every test fold "
        "(0 = no better than the drug's average; the number the dashboard shows for this model on every page). "
        "<i>p</i>: how often organoids shuffled at random scored as well (1,000 shuffles).</p>",
    ]
    parts.append("<h2>Drug ranking</h2><div class='side'>")
    for model in models:
        shown = display_table(model.ranking, unit)
        top = highlighted_top(model.ranking, k) & (out_of_range is None)
        parts.append(f"<div><h3>{html.escape(model.label)}</h3>{_table_html(shown, top)}</div>")
    parts.append("</div>")
    if scatter is not None:
        parts.append("<h2>Agreement of the models</h2>")
        parts.append(scatter.to_html(full_html=False, include_plotlyjs=True))
        plotly_included = True
    for drug, table in (genes.by_drug if genes is not None else {}).items():
        parts.append(f"<h2>Genes behind the prediction for {html.escape(drug)}</h2>")
        parts.append(
            f"<p class='note'>{html.escape(genes.view)} Attributions of {html.escape(genes.bundle)}, "
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
