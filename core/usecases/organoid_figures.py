"""The figures the app and the HTML report draw for one organoid: two models' z-scores against each other and
the genes behind one drug's prediction. Pure functions of tables the library produced.
"""

from __future__ import annotations

from dataclasses import dataclass

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


# The scatter is drawn at a fixed size, so that label boxes placed in pixels are where the browser draws them.
SCATTER_WIDTH, SCATTER_HEIGHT = 760, 560
SCATTER_MARGIN = {"l": 70, "r": 20, "t": 60, "b": 150}  # the bottom one holds the axis title and the legend
LABEL_FONT_SIZE = 11
# Approximate text extent in pixels: a character of the default sans-serif font is at most ~0.62 em wide on
# average; a line is ~1.3 em high. A little generous, so estimated boxes that do not touch do not touch drawn.
CHARACTER_WIDTH, LINE_HEIGHT = 0.62 * LABEL_FONT_SIZE, 1.3 * LABEL_FONT_SIZE
DOT_CLEARANCE = 7.0  # pixels from a dot's centre that no label may cover (the largest dot has a radius of 5)


@dataclass(frozen=True)
class PlotArea:
    """The data ranges of the axes and the plotting area's size in pixels: where a data point is drawn."""

    x_range: tuple[float, float]
    y_range: tuple[float, float]
    width: float
    height: float

    def pixels(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """(n, 2) pixel positions from the area's top-left corner (y grows downwards, as in plotly's offsets)."""
        (x0, x1), (y0, y1) = self.x_range, self.y_range
        return np.column_stack(((x - x0) / (x1 - x0) * self.width, (y1 - y) / (y1 - y0) * self.height))


def text_extent(text: str) -> tuple[float, float]:
    """Approximate (width, height) in pixels of a one-line label."""
    return CHARACTER_WIDTH * len(text) + 4, LINE_HEIGHT


def _offsets(width: float, height: float) -> list[tuple[float, float]]:
    """Where a label's centre may go relative to its dot, nearest first: beside, above, below or diagonal."""
    side = [0.0] + [sign * (width / 2 + DOT_CLEARANCE + step) for step in range(0, 90, 12) for sign in (1, -1)]
    level = [0.0] + [sign * (height / 2 + DOT_CLEARANCE + step) for step in range(0, 90, 9) for sign in (-1, 1)]
    candidates = [(dx, dy) for dx in side for dy in level if (dx, dy) != (0.0, 0.0)]
    return sorted(candidates, key=lambda offset: np.hypot(offset[0] / 2, offset[1]))


def place_labels(labelled: np.ndarray, texts: list[str], dots: np.ndarray, area: PlotArea) -> list[tuple[float, float]]:
    """A pixel offset (right, down) from each labelled point to its label's centre, chosen in turn so that no label
    box overlaps an earlier one, covers any dot (``dots``: every point drawn, in pixels) or leaves the plotting area;
    the first offset that fits, nearest the dot first. Where nothing fits, the one overlapping least."""
    placed: list[np.ndarray] = []  # boxes: left, top, right, bottom
    offsets = []
    for (x, y), text in zip(labelled, texts, strict=True):
        width, height = text_extent(text)
        best, best_clashes = None, None
        for dx, dy in _offsets(width, height):
            box = np.array([x + dx - width / 2, y + dy - height / 2, x + dx + width / 2, y + dy + height / 2])
            clashes = _clashes(box, placed, dots, area)
            if best_clashes is None or clashes < best_clashes:
                best, best_clashes = (dx, dy, box), clashes
            if clashes == 0:
                break
        dx, dy, box = best
        placed.append(box)
        offsets.append((dx, dy))
    return offsets


def _clashes(box: np.ndarray, placed: list[np.ndarray], dots: np.ndarray, area: PlotArea) -> int:
    """How many labels the box overlaps and dots it covers, plus one if it leaves the plotting area."""
    left, top, right, bottom = box
    outside = int(left < 0 or top < 0 or right > area.width or bottom > area.height)
    labels = sum(left < b[2] and b[0] < right and top < b[3] and b[1] < bottom for b in placed)
    nearest_x = np.clip(dots[:, 0], left, right)
    nearest_y = np.clip(dots[:, 1], top, bottom)
    covered = int((np.hypot(dots[:, 0] - nearest_x, dots[:, 1] - nearest_y) < DOT_CLEARANCE).sum())
    return outside + labels + covered


def padded_range(values: np.ndarray, share: float = 0.12) -> tuple[float, float]:
    """An axis range around ``values`` with room for labels at its ends."""
    low, high = (float(np.nanmin(values)), float(np.nanmax(values))) if len(values) else (-1.0, 1.0)
    pad = share * max(high - low, 1.0)
    return low - pad, high + pad


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
    area = PlotArea(
        padded_range(merged["z_score_a"].to_numpy(float)),
        padded_range(merged["z_score_b"].to_numpy(float)),
        SCATTER_WIDTH - SCATTER_MARGIN["l"] - SCATTER_MARGIN["r"],
        SCATTER_HEIGHT - SCATTER_MARGIN["t"] - SCATTER_MARGIN["b"],
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
                mode="markers",
                name=group,
                marker={"color": colour, "size": 10 if labelled else 7},
                customdata=np.stack([rows["drug"], rows["rank_a"], rows["rank_b"]], axis=1),
                hovertemplate="%{customdata[0]}<br>"
                + first_label
                + ": z=%{x:.2f} (rank %{customdata[1]})<br>"
                + second_label
                + ": z=%{y:.2f} (rank %{customdata[2]})<extra></extra>",
            )
        )
    low = max(area.x_range[0], area.y_range[0])
    high = min(area.x_range[1], area.y_range[1])
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
        width=SCATTER_WIDTH,
        height=SCATTER_HEIGHT,
        autosize=False,
        xaxis={"range": list(area.x_range), "autorange": False},
        yaxis={"range": list(area.y_range), "autorange": False},
        legend={"orientation": "h", "yanchor": "top", "y": -0.2},
        margin=SCATTER_MARGIN,
        annotations=drug_labels(merged[merged["group"] != "other"], merged, area),
    )
    return figure


def drug_labels(labelled: pd.DataFrame, every: pd.DataFrame, area: PlotArea) -> list[dict]:
    """One annotation per labelled drug (best ranked placed first), joined to its dot by a thin line, placed by
    :func:`place_labels` so that labels neither overlap nor cover a dot."""
    labelled = labelled.assign(best=labelled[["rank_a", "rank_b"]].min(axis=1)).sort_values(["best", "drug"])
    offsets = place_labels(
        area.pixels(labelled["z_score_a"].to_numpy(float), labelled["z_score_b"].to_numpy(float)),
        list(labelled["drug"]),
        area.pixels(every["z_score_a"].to_numpy(float), every["z_score_b"].to_numpy(float)),
        area,
    )
    return [
        {
            "x": x,
            "y": y,
            "ax": dx,
            "ay": dy,
            "text": drug,
            "xanchor": "center",
            "yanchor": "middle",
            "showarrow": True,
            "arrowhead": 0,
            "arrowwidth": 1,
            "arrowcolor": "#95a5a6",
            "font": {"size": LABEL_FONT_SIZE},
        }
        for (x, y, drug), (dx, dy) in zip(
            labelled[["z_score_a", "z_score_b", "drug"]].itertuples(index=False), offsets, strict=True
        )
    ]


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
