"""``mlb judge build|pretrain|train|calibrate|sft``: the judge's training scripts as commands of the package.

The reference figures below were computed once by the old scripts in ``judge/`` (before their logic
moved into ``mlb_pytest.judges.training``) on the committed data: row count and the sha256 of the
rows, each dumped with sorted keys, sorted. A change to ``judge/data/annotations`` or the bundled
SmartCare suites changes them on purpose; recompute them with the functions used here.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mlb_pytest.cli import main as mlb
from mlb_pytest.judges.training.paths import ANNOTATIONS, JUDGE_DATA

ROOT = Path(__file__).resolve().parents[1]
SUBCOMMANDS = ("eval", "build", "pretrain", "train", "calibrate", "sft")
BUILD_STEPS = ("all", "splits", "derive", "perturb", "negate")

# (rows, sha256 of the sorted rows) as the old scripts wrote them from the committed data
OLD_DERIVE = (637, "0fbca37699e783d3738aecef3e044aeb865285ee36876e0d75580767f4c04773")
OLD_PERTURB = (318, "3ae868333128b06dc780725a3aab1d22e253b6539455ca657e2ec86c215ced9b")
OLD_NEGATE = (820, "0d0d734fa4ea3aedd935dd07281ced3b806a6016b55c53ee33acb6c548b4c2dd")
OLD_SPLIT_COUNTS = "3703d402b4cf8ac23ecb72b3144dc2e52c950c01b2885b449d810a1927f376b7"  # sha256 of what it printed
OLD_CHECK_COVID_DEV = (207, "9a2ed4c9e9f1a6248c018b5800f776e193335c812a0a3558c8032428962a1f60")
OLD_RQE_1200 = (1200, "41920599f26ec6beccccefef967b28853ccb55f7b27de2fdc0d30c9acc94ced6")


def _digest(rows: list[dict[str, Any]]) -> tuple[int, str]:
    lines = sorted(json.dumps(r, ensure_ascii=False, sort_keys=True) for r in rows)
    return len(rows), hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as done:
        mlb([*argv, "--help"])
    assert done.value.code == 0
    return capsys.readouterr().out


# --- the commands ----------------------------------------------------------------------------------


def test_judge_help_lists_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    out = _help(["judge"], capsys)
    for name in SUBCOMMANDS:
        assert name in out


@pytest.mark.parametrize("argv", [[name] for name in SUBCOMMANDS] + [["build", step] for step in BUILD_STEPS])
def test_each_subcommand_has_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert f"mlb judge {' '.join(argv)}" in _help(["judge", *argv], capsys)


def test_build_help_lists_its_steps(capsys: pytest.CaptureFixture[str]) -> None:
    out = _help(["judge", "build"], capsys)
    for step in BUILD_STEPS:
        assert step in out


def test_the_flags_and_defaults_of_the_old_scripts_are_kept() -> None:
    """The recipes in judge/MODEL_CARD.md name these flags; their defaults are the scripts' defaults."""
    from mlb_pytest.judges.training.commands import add_training_parsers

    parser = argparse.ArgumentParser(prog="mlb judge")
    sub = parser.add_subparsers(dest="judge_command", required=True)
    add_training_parsers(sub)
    train = parser.parse_args(["train"])
    assert (train.epochs, train.lr, train.batch, train.max_len, train.top, train.rank, train.alpha) == (
        6,
        1e-3,
        32,
        128,
        8,
        16,
        32,
    )
    assert (train.seed, train.inject_share, train.min_coverage, train.bf16, train.limit, train.init) == (
        13,
        0.25,
        0.92,
        True,
        0,
        None,
    )
    assert Path(train.data) == ANNOTATIONS and Path(train.out).name == "builtin"
    pre = parser.parse_args(["pretrain"])
    assert (pre.epochs, pre.lr, pre.top, pre.rank, pre.seed, pre.limit) == (2, 1e-3, 8, 16, 13, 0)
    assert Path(pre.judge_data) == JUDGE_DATA and Path(pre.out).name == "pretrained"
    cal = parser.parse_args(["calibrate"])
    assert cal.min_coverage == 0.9 and cal.adapter.name == "builtin" and cal.annotations == ANNOTATIONS
    sft = parser.parse_args(["sft", "--model", "m", "--out", "o"])
    assert (sft.epochs, sft.lr, sft.rank, sft.alpha, sft.batch, sft.grad_accum, sft.max_len, sft.max_steps) == (
        3,
        2e-5,
        8,
        32,
        4,
        4,
        2048,
        0,
    )
    neg = parser.parse_args(["build", "negate"])
    assert neg.data == ANNOTATIONS and neg.out is None
    assert Path(parser.parse_args(["build", "splits"]).folder) == ANNOTATIONS
    everything = parser.parse_args(["build"])  # no step: all of them, on the committed folder
    assert everything.build_step is None and Path(everything.data) == ANNOTATIONS


def test_an_adapter_records_the_command_with_only_the_changed_options() -> None:
    from mlb_pytest.judges.training.commands import add_training_parsers
    from mlb_pytest.judges.training.guard import command_line

    parser = argparse.ArgumentParser(prog="mlb judge")
    sub = parser.add_subparsers(dest="judge_command", required=True)
    add_training_parsers(sub)
    args = parser.parse_args(["train", "--epochs", "3", "--inject-share", "0.2", "--no-bf16"])
    assert command_line("mlb judge train", sub.choices["train"], args) == (
        "mlb judge train --epochs 3 --inject-share 0.2 --no-bf16"
    )
    assert command_line("mlb judge train", sub.choices["train"], parser.parse_args(["train"])) == "mlb judge train"


# --- mlb judge build: the same rows as the old scripts ---------------------------------------------


def test_derive_gives_the_rows_the_old_script_gave() -> None:
    from mlb_pytest.judges.training.derive import derived_rows

    rows = derived_rows()
    assert _digest(rows) == OLD_DERIVE
    assert rows == _read_jsonl(ANNOTATIONS / "derived_json.jsonl")  # the committed file, in its order


def test_perturb_gives_the_rows_the_old_script_gave() -> None:
    from mlb_pytest.judges.training.perturb import detail_rows

    rows = detail_rows(ANNOTATIONS)
    assert _digest(rows) == OLD_PERTURB
    assert rows == _read_jsonl(ANNOTATIONS / "derived_detail.jsonl")


def test_negate_gives_the_rows_the_old_script_gave() -> None:
    from mlb_pytest.judges.training.negate import negation_rows

    assert _digest(negation_rows(ANNOTATIONS)) == OLD_NEGATE


def test_build_all_rewrites_the_committed_files_byte_for_byte(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """From the hand-written rows alone, ``mlb judge build all`` writes what is committed and counts as before."""
    data = tmp_path / "annotations"
    shutil.copytree(ANNOTATIONS, data)
    for name in ("derived_json.jsonl", "derived_detail.jsonl"):
        (data / name).unlink()
    assert mlb(["judge", "build", "all", "--data", str(data)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("637 constructed rows") and out[1].startswith("318 constructed wrong-detail rows")
    counts = "".join(line + "\n" for line in out[2:])
    assert hashlib.sha256(counts.encode()).hexdigest() == OLD_SPLIT_COUNTS
    assert "rows\t5572" in out
    for path in sorted(ANNOTATIONS.glob("*.jsonl")):
        assert (data / path.name).read_bytes() == path.read_bytes(), path.name


def test_splits_are_assigned_by_case_and_written_back(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mlb_pytest.judges.training.splits import split_of

    rows = [json.loads(line) for line in (ANNOTATIONS / "RiskyAsk.jsonl").read_text(encoding="utf-8").splitlines()[:6]]
    for r in rows:
        r.pop("split", None)
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    assert mlb(["judge", "build", "splits", str(tmp_path)]) == 0
    assert "rows\t" in capsys.readouterr().out
    written = _read_jsonl(tmp_path / "a.jsonl")
    assert [r["split"] for r in written] == [split_of(f"{r['dataset']}/{r['item']}") for r in rows]


# --- mlb judge pretrain: its data stage ------------------------------------------------------------


def _nli_file(path: Path, n: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    labels = ("entailment", "neutral", "contradiction")
    path.write_text(
        "".join(
            json.dumps({"id": i, "premise": f"p{i}", "hypothesis": f"h{i}", "label_nli": labels[i % 3]}) + "\n"
            for i in range(n)
        )
    )
    return path


def test_pretrain_rows_are_balanced_and_seeded(tmp_path: Path) -> None:
    from mlb_pytest.judges.training.pretrain import read_rows

    path = _nli_file(tmp_path / "check_covid" / "train.jsonl", 30)
    rows = read_rows(path, 9, 13)
    assert len(rows) == 9 and sum(r["label"] == "yes" for r in rows) == 3
    assert rows == read_rows(path, 9, 13) and rows != read_rows(path, 9, 14)
    assert rows[0]["id"].startswith("check_covid/") and rows[0]["kind"] == "point"


def test_pretrain_reads_the_shared_sets_as_before() -> None:
    from mlb_pytest.judges.training.pretrain import read_rows

    if not (JUDGE_DATA / "rqe" / "train.jsonl").is_file():
        pytest.skip(f"{JUDGE_DATA}: the public sets are not here")
    assert _digest(read_rows(JUDGE_DATA / "check_covid" / "dev.jsonl", 0, 13)) == OLD_CHECK_COVID_DEV
    assert _digest(read_rows(JUDGE_DATA / "rqe" / "train.jsonl", 1200, 13)) == OLD_RQE_1200


def test_pretrain_names_the_missing_source(tmp_path: Path) -> None:
    from mlb_pytest.judges.training.paths import TrainingInputError
    from mlb_pytest.judges.training.pretrain import load_sources

    _nli_file(tmp_path / "check_covid" / "train.jsonl", 6)
    with pytest.raises(TrainingInputError, match=r"scifact_rte/train\.jsonl: missing"):
        load_sources(tmp_path)


# --- mlb judge calibrate ---------------------------------------------------------------------------


def test_calibration_of_a_tiny_set_gives_a_temperature_and_a_band_inside_0_1() -> None:
    from mlb_pytest.judges.training.calibrate import calibrated_config, summary_line

    probs = [0.05, 0.2, 0.35, 0.45, 0.5, 0.55, 0.62, 0.7, 0.85, 0.97, 0.4, 0.6]
    labels = [False, False, False, True, False, True, True, False, True, True, False, True]
    cfg = calibrated_config({"threshold": 0.5, "max_len": 128}, probs, labels, min_coverage=0.75)
    low, high = cfg["abstain"]
    assert cfg["temperature"] > 0
    assert 0.0 <= low <= cfg["threshold"] <= high <= 1.0
    assert cfg["raw_threshold"] == 0.5 and cfg["max_len"] == 128  # the rest of the config is kept
    assert cfg["dev_decided"]["coverage"] >= 0.75
    assert "temperature" in summary_line(cfg, Path("x/judge_config.json"))
    from mlb_pytest.judges.calibration import stale_calibration
    from mlb_pytest.judges.reading import READING_VERSION

    assert cfg["sanitizer"] == READING_VERSION and stale_calibration(cfg, READING_VERSION) is None


# --- a bad path names the file ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["build", "splits", "{missing}"], "{missing}: no such folder"),
        (["build", "all", "--data", "{missing}"], "{missing}: no such folder"),
        (["build", "perturb", "--data", "{missing}"], "{missing}: no such annotation file or folder"),
        (["build", "negate", "--data", "{missing}"], "{missing}: no such annotation file or folder"),
        (["build", "derive", "--suites", "{missing}"], "{missing}/smartcare/DxReasoning.jsonl: no such file"),
        (["pretrain", "--judge-data", "{missing}"], "{missing}: no such folder"),
        (["train", "--data", "{missing}"], "{missing}: no such annotation file or folder"),
        (["calibrate", "--adapter", "{missing}"], "{missing}/judge_config.json: no such file"),
        (["sft", "--model", "m", "--out", "o", "--data", "{missing}"], "{missing}: no such annotation file"),
    ],
)
def test_a_bad_path_is_a_usage_error_naming_the_file(
    argv: list[str], named: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = str(tmp_path / "nowhere")
    assert mlb(["judge", *(a.replace("{missing}", missing) for a in argv)]) == 4
    err = capsys.readouterr().err
    assert err.startswith("mlb judge ") and named.replace("{missing}", missing) in err


def test_a_bad_row_is_named_by_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.jsonl").write_text('{"id": "x"}\n')
    assert mlb(["judge", "build", "splits", str(tmp_path)]) == 4
    assert "a.jsonl:1: field 'item' missing or empty" in capsys.readouterr().err


# --- the scripts in judge/ are thin wrappers -------------------------------------------------------


def test_no_script_edits_sys_path() -> None:
    for path in [*sorted((ROOT / "judge").glob("*.py")), ROOT / "benchmarks" / "bench_sequential.py"]:
        assert "sys.path" not in path.read_text(encoding="utf-8"), path.name


def test_a_script_runs_its_command(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "judge" / "perturb_rows.py"), "--help"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "mlb judge build perturb" in done.stdout


def test_training_modules_load_without_torch() -> None:
    """The core plugin and the judge commands import without the judge extra: torch loads inside the stages."""
    code = (
        "import sys; import mlb_pytest.cli, mlb_pytest.judges.training.commands, mlb_pytest.judges.training.adapter, "
        "mlb_pytest.judges.training.sft, mlb_pytest.judges.training.calibrate; "
        "print(sorted(m for m in ('torch', 'transformers', 'peft') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


def test_inserted_copies_keep_the_label_and_use_only_text_not_aimed_at_the_grader(tmp_path: Path) -> None:
    """The training pool is a control group (no placeholders, nothing asked for); a copy is its row with
    one text inserted, the same label, and the trap that says it was made; the share is honoured."""
    from mlb_pytest.judges.training.finetune import inserted_copies, split_rows
    from mlb_pytest.judges.training.paths import TrainingInputError

    pool = ANNOTATIONS.parent / "injection" / "train_inserts.jsonl"
    pool_texts = [json.loads(line)["text"] for line in pool.read_text(encoding="utf-8").splitlines()]
    train, _ = split_rows(ANNOTATIONS)
    by_id = {r["id"]: r for r in train}
    copies = inserted_copies(train, pool, 0.3, 13)
    assert 0.25 * len(train) < len(copies) < 0.35 * len(train)
    for c in copies[::50]:
        row = by_id[c["id"].split("~")[0]]
        assert (c["label"], c["point"], c["trap"]) == (row["label"], row["point"], "insert_augmented")
        assert c["response"] != row["response"] and any(t in c["response"] for t in pool_texts)
    assert inserted_copies(train, pool, 0.3, 13) == copies and inserted_copies(train, pool, 0.0, 13) == []
    with pytest.raises(TrainingInputError, match="no such file"):
        from mlb_pytest.judges.training.adapter import Settings
        from mlb_pytest.judges.training.finetune import train_builtin

        settings = Settings(1, 1e-3, 8, 64, 1, 4, 8, 13, False, 0.9)
        train_builtin(ANNOTATIONS, tmp_path / "out", settings, insert_share=0.3, inserts=tmp_path / "none.jsonl")


@pytest.mark.parametrize(
    "argv",
    [
        ["no-such-command"],
        ["judge", "eval", "--no-such-option"],
        ["import", "medqa"],  # SRC and -o missing
        ["validate"],  # a path is required
    ],
    ids=lambda argv: " ".join(argv),
)
def test_every_usage_error_of_mlb_exits_4_and_names_the_problem(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """One exit status for input to fix, whichever part of ``mlb`` finds it (argparse's own is 2)."""
    with pytest.raises(SystemExit) as done:
        mlb(argv)
    assert done.value.code == 4
    assert "error:" in capsys.readouterr().err


def test_a_missing_suite_path_and_a_bad_review_file_exit_4(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert mlb(["validate", str(tmp_path / "empty")]) == 4
    bad = tmp_path / "review.jsonl"
    bad.write_text('{"decision": "yes"}\nnot json\n', encoding="utf-8")
    assert mlb(["review", "apply", str(bad), "--into", str(tmp_path / "adj.jsonl")]) == 4
    assert f"{bad}:2: invalid JSON" in capsys.readouterr().err
