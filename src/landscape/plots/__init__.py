"""Figures of loss surfaces: 1-D curves, contours, heat maps, 3-D surfaces and panels.

Read a surface file (reference HDF5 layout) with ``read_surface``, the strict reader of
``landscape.surface_file`` re-exported here; write figure files with ``plot_surface_file``
(one surface, several kinds) or ``plot_panel`` (several surfaces side by side, the paper's
Figs. 1 and 5); or build a ``matplotlib.figure.Figure`` with
``surface_figure`` / ``panel_figure`` to use it yourself. Same input, same bytes out.
"""

from landscape.plots.figures import (
    KINDS, KINDS_1D, KINDS_2D, panel_figure, panel_titles, plot_panel, plot_surface_file,
    surface_figure,
)
from landscape.plots.options import PlotOptions
from landscape.plots.output import FORMATS, plot_style, save_figures
from landscape.surface_file import Surface, read_surface

__all__ = [
    "FORMATS", "KINDS", "KINDS_1D", "KINDS_2D", "PlotOptions", "Surface", "panel_figure",
    "panel_titles", "plot_panel", "plot_style", "plot_surface_file", "read_surface",
    "save_figures", "surface_figure",
]
