"""EgoDistill's study: its cached runs, settings, analyses, efficiency and figures (notebooks 09–12)."""
