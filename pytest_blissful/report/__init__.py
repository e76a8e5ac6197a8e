"""Renderers: terminal tables, JSON, Allure, GitHub step summary - all from the same result objects."""
