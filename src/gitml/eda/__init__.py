"""Exploratory data analysis: the eda stage's profile of the raw table (`profile`) and its page (`html`)."""

from __future__ import annotations

__all__ = ["html", "profile"]
