"""The report's output formats, kept apart so the command line can name them without loading the report."""

from __future__ import annotations

from enum import StrEnum


class ReportFormat(StrEnum):
    md = "md"
    json = "json"
    html = "html"
