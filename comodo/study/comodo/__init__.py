"""COMODO's study: its cached runs, settings, analyses and figures (notebooks 01–07)."""
