"""The figures the app and the HTML report draw for one organoid: two models' z-scores against each other and
the genes behind one drug's prediction. Pure functions of tables the library produced.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.evaluation.metrics import TOP_DRUGS_OVERLAP
from core.usecases.ranking import paired_rankings, ranking_agreement

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
    first: pd.DataFrame, second: pd.DataFrame, first_label: str, second_label: str, k: int = TOP_DRUGS_OVERLAP
) -> go.Figure:
    """Scatter of two models' z-scores per drug; drugs in either top k are labelled and coloured."""
    merged = paired_rankings(first, second)
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
