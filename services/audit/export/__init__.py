"""Exports of the log with their proof material, as JSON Lines and CSV."""
