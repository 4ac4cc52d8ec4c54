"""One run, in four parts; ``session.MLBSession`` holds one of each and the hooks call it.

- ``setup``: the settings resolved once: model specs, keys, adapters, and every path (one rule).
- ``generation``: engine, cache, judges, extractor and option rotations; tests wait on it.
- ``results``: an item's result dict and its score, under one pass rule.
- ``gating`` and ``finishing``: where results meet: aggregate, gates, baseline, reports.
"""
