"""The committed baseline of the default model is a stored run of exactly what ``make run`` runs.

If a suite edit changes one of the items ``make run`` picks, the baseline silently stops covering
it (the gates compare only items with the same content). This test says so, and how to fix it.
"""

from __future__ import annotations

import re
from pathlib import Path

from mlb_pytest.baselines import item_view, load_baseline
from mlb_pytest.suites import select_limited
from mlb_pytest.suites.validate import validate_paths

ROOT = Path(__file__).resolve().parents[1]
REMAKE = "make run ARGS=--mlb-update-baseline"


def _make_default(name: str) -> str:
    m = re.search(rf"^{name} \?= (\S+)$", (ROOT / "Makefile").read_text(), re.M)
    assert m, name
    return m.group(1)


def test_the_committed_baseline_covers_what_make_run_runs() -> None:
    model, limit = _make_default("MODEL"), int(_make_default("LIMIT"))
    path = ROOT / "baselines" / f"{model.split(':', 1)[1]}.json"
    baseline = load_baseline(path)
    assert baseline.data["model"] == model and baseline.data["selection"] == {"limit": limit}
    items, problems = validate_paths([ROOT / _make_default("SUITES")])
    assert problems == []
    chosen = {f"{it.dataset}/{it.id}": it for it in select_limited(items, limit)}
    stored = item_view(baseline)
    assert set(stored) == set(chosen), f"the bundled suites moved: remake it with {REMAKE}"
    stale = [k for k, it in chosen.items() if stored[k]["content_hash"] != it.content_hash]
    assert not stale, f"items changed since the baseline ({stale}): remake it with {REMAKE}"
    scored = [v for v in stored.values() if v.get("score") is not None]
    assert len(scored) >= 30  # enough for the overall drop gate under the policy's min_shared
