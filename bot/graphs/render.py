"""Series in, PNG bytes out: one image, a panel per metric, the firing moment marked. Pure.

matplotlib's object API with the Agg canvas (no pyplot: no global figure state, no GUI backend); a lock
around drawing because matplotlib's text and font caches are not documented as thread-safe and the
enrichment and commands render on several threads.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes

PANEL_HEIGHT_IN = 2.2
WIDTH_IN = 9.0
DPI = 100
MAX_LINES = 8   # per panel; more series than this are summarised in the legend
_DRAW_LOCK = threading.Lock()


@dataclass(frozen=True)
class Line:
    label: str
    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class PanelData:
    title: str
    unit: str
    lines: tuple[Line, ...] = ()
    note: str = ""             # why a panel is empty: no series, or Prometheus failed for it


@dataclass(frozen=True)
class Chart:
    title: str
    start: float
    end: float
    panels: tuple[PanelData, ...]
    fired_at: float | None = None
    resolved_at: float | None = None


def render_png(chart: Chart) -> bytes:
    """The chart as a PNG."""
    # Imported here, not at the top: matplotlib takes about a second to import, and every bot process
    # (every `serve` start, every command-line call) would pay it for a graph it may never draw.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import AutoDateLocator, DateFormatter
    from matplotlib.figure import Figure

    with _DRAW_LOCK:
        fig = Figure(figsize=(WIDTH_IN, 0.6 + PANEL_HEIGHT_IN * max(1, len(chart.panels))), dpi=DPI,
                     layout="constrained")
        FigureCanvasAgg(fig)
        fig.suptitle(chart.title, fontsize=11)
        axes = fig.subplots(max(1, len(chart.panels)), 1, sharex=True, squeeze=False)[:, 0]
        for ax, panel in zip(axes, chart.panels, strict=False):
            _draw_panel(ax, panel, chart)
        axes[-1].set_xlabel("UTC")
        axes[-1].xaxis.set_major_locator(AutoDateLocator())
        axes[-1].xaxis.set_major_formatter(DateFormatter("%H:%M", tz=UTC))
        out = io.BytesIO()
        fig.savefig(out, format="png")
        return out.getvalue()


def _draw_panel(ax: Axes, panel: PanelData, chart: Chart) -> None:
    ax.set_title(panel.title, fontsize=9, loc="left")
    ax.set_ylabel(panel.unit, fontsize=8)
    ax.tick_params(labelsize=7)
    ax.set_xlim(_x(chart.start), _x(chart.end))
    ax.grid(True, alpha=0.3)
    for line in panel.lines[:MAX_LINES]:
        if line.points:
            ax.step([_x(t) for t, _ in line.points], [v for _, v in line.points], where="post",
                    label=line.label, linewidth=1.4)
    if chart.fired_at is not None:
        ax.axvline(_x(chart.fired_at), color="red", linestyle="--", linewidth=1, label="fired")
    if chart.resolved_at is not None:
        ax.axvline(_x(chart.resolved_at), color="green", linestyle="--", linewidth=1, label="resolved")
    if not any(line.points for line in panel.lines):
        ax.text(0.5, 0.5, panel.note or "no data", transform=ax.transAxes, ha="center", va="center",
                fontsize=8, color="dimgray")
    hidden = len(panel.lines) - MAX_LINES
    if hidden > 0:
        ax.plot([], [], " ", label=f"+{hidden} more series")
    ax.legend(fontsize=7, loc="upper left")


def _x(ts: float) -> float:
    from matplotlib.dates import date2num

    """A unix time as matplotlib's date number (what the date locator and formatter read)."""
    return float(date2num(datetime.fromtimestamp(ts, UTC)))
