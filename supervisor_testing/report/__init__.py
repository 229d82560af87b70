"""Reports: result tables and image grids."""

from __future__ import annotations

from supervisor_testing.report.grid import corpus_grid, image_grid
from supervisor_testing.report.tables import results_table

__all__ = ["corpus_grid", "image_grid", "results_table"]
