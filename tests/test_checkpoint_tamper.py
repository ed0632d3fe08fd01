"""Untrusted run directories: a tampered or foreign checkpoint gives one clear line, and nothing is unpickled."""

from __future__ import annotations

import ast
import json
import pickle
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from safetensors.torch import save_file

from fuzz import FUZZ, fuzz_only, report, tried
from fuzz_report import Stage, feed_until_floors
from tunesmith.cli import main
from tunesmith.data.vocab import CharVocab
from tunesmith.models import build_model
from tunesmith.store.checkpoint import BEST_FILE, CONFIG_FILE, describe, load_model, read_checkpoint, save_best

SRC = Path(__file__).resolve().parents[1] / "src" / "tunesmith"


@pytest.fixture(scope="module", autouse=True)
def _print_counts():
    yield
    print("\n" + report())


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> tuple[Path, dict[str, torch.Tensor], dict]:
    vocab = CharVocab.build(["X:1\nT:Tamper\nM:6/8\nK:D\nABc dBA|"])
    torch.manual_seed(0)
    network = build_model("lstm", {"vocab_size": len(vocab), "embed_dim": 8, "hidden_size": 16})
    run = tmp_path_factory.mktemp("good")
    save_best(run, network, describe(network, vocab, seed=3))
    tensors, meta = read_checkpoint(run / BEST_FILE)
    return run, tensors, meta


def _write(folder: Path, tensors: dict[str, torch.Tensor], meta: object | None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    metadata = None if meta is None else {"tunesmith": meta if isinstance(meta, str) else json.dumps(meta)}
    save_file(tensors, str(folder / BEST_FILE), metadata)
    return folder


def _refused(folder: Path, capsys, *phrases: str) -> None:
    """load_model raises one clear ValueError naming the file; generate says the same in one line, exit 2."""
    tried("checkpoint.load_model (tampered)")
    with pytest.raises(ValueError) as caught:
        load_model(folder)
    message = str(caught.value)
    assert "\n" not in message and len(message) < 400, message
    assert str(folder) in message
    for phrase in phrases:
        assert phrase in message, message
    capsys.readouterr()
    assert main(["generate", "--model", str(folder), "--max-chars", "40"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("tunesmith: ") and str(folder) in err


def _with(meta: dict, **changes: object) -> dict:
    return {**meta, **changes}


def _config(meta: dict, **changes: object) -> dict:
    return {**meta, "model_config": {**meta["model_config"], **changes}}


def test_the_untampered_checkpoint_loads(good):
    run, _, meta = good
    assert load_model(run).meta["seed"] == 3 == meta["seed"]


@pytest.mark.parametrize(("name", "change", "phrase"), [
    ("no metadata", lambda t, m: (t, None), "not a Tunesmith checkpoint"),
    ("metadata not JSON", lambda t, m: (t, "{not json"), "not a Tunesmith checkpoint"),
    ("metadata a list", lambda t, m: (t, [1, 2]), "not a JSON object"),
    ("no model kind", lambda t, m: (t, {k: v for k, v in m.items() if k != "model_kind"}), "'model_kind'"),
    ("unknown kind", lambda t, m: (t, _with(m, model_kind="os.system")), "unknown model kind"),
    ("config not a dict", lambda t, m: (t, _with(m, model_config="x")), "mapping"),
    ("config unknown field", lambda t, m: (t, _config(m, evil=1)), "evil"),
    ("negative size", lambda t, m: (t, _config(m, hidden_size=-4)), "hidden_size"),
    ("a size past the limits", lambda t, m: (t, _config(m, hidden_size=10**6)), "from 1 to 16,384"),
    ("a huge model", lambda t, m: (t, _config(m, hidden_size=1 << 14)), "its config says"),  # built on "meta"
    ("wrong vocab size in config", lambda t, m: (t, _config(m, vocab_size=5)), "its config says"),
    ("vocabulary cut short", lambda t, m: (t, _with(m, vocab={"kind": "char", "tokens": m["vocab"]["tokens"][:6]})),
     "the vocabulary has 6 symbols"),
    ("no vocabulary", lambda t, m: (t, {k: v for k, v in m.items() if k != "vocab"}), "'vocab'"),
    ("vocabulary of numbers", lambda t, m: (t, _with(m, vocab={"kind": "char", "tokens": [1, 2, 3]})), "vocabulary"),
    ("unknown vocabulary kind", lambda t, m: (t, _with(m, vocab={"kind": "bpe"})), "vocabulary"),
    ("a tensor missing", lambda t, m: ({k: v for k, v in t.items() if k != "embed.weight"}, m), "no tensor"),
    ("an extra tensor", lambda t, m: ({**t, "evil": torch.zeros(2)}, m), "unexpected tensor 'evil'"),
    ("a wrong shape", lambda t, m: ({**t, "embed.weight": torch.zeros(3, 3)}, m), "has shape [3, 3]"),
    ("NaN weights", lambda t, m: ({k: torch.full_like(v, float("nan")) for k, v in t.items()}, m), "NaN"),
])
def test_a_tampered_safetensors_file_is_refused(good, tmp_path, capsys, name, change, phrase):
    _, tensors, meta = good
    _refused(_write(tmp_path / "run", *change(tensors, meta)), capsys, phrase)


@FUZZ
@given(st.binary(max_size=2000))
def test_garbage_bytes_are_refused(tmp_path_factory, capsys, data):
    folder = tmp_path_factory.mktemp("garbage")
    (folder / BEST_FILE).write_bytes(data)
    _refused(folder, capsys)


@FUZZ
@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=0, max_value=255))
def test_a_flipped_or_truncated_byte_never_crashes(good, tmp_path_factory, capsys, at, value):
    """Damage anywhere in a real file: it loads (the byte was in a weight) or is refused clearly."""
    run, _, _ = good
    data = bytearray((run / BEST_FILE).read_bytes())
    folder = tmp_path_factory.mktemp("flipped")
    if at >= len(data):
        data = data[: at % len(data)]  # truncated instead
    else:
        data[at] = value
    (folder / BEST_FILE).write_bytes(bytes(data))
    tried("checkpoint.load_model (tampered)")
    try:
        model = load_model(folder)
    except ValueError as error:
        assert "\n" not in str(error) and str(folder) in str(error)
    else:
        assert all(torch.isfinite(p).all() for p in model.network.parameters())


# ---------------------------------------------------------------- a long loop of tampered files

ODD_JSON = [None, True, False, 0, -1, 1, 2**31, 2**63, -(2**70), 1e308, -0.0, 0.5, "", "x", "os.system", "lstm",
            "F32", [], [1, 2], ["a", "b"], {}, {"kind": "char"}, "\udc80", "A" * 10_000]
DTYPES = ["F32", "F16", "BF16", "F64", "I64", "I32", "U8", "BOOL", "F8_E4M3", "X", "", 3]


def _split(data: bytes) -> tuple[dict, bytes]:
    """A safetensors file: its JSON header (8-byte little-endian length first) and the tensor bytes."""
    length = int.from_bytes(data[:8], "little")
    return json.loads(data[8:8 + length]), data[8 + length:]


def _join(header: dict, body: bytes) -> bytes:
    encoded = json.dumps(header).encode("utf-8", "surrogatepass")
    return len(encoded).to_bytes(8, "little") + encoded + body


def _odd_value(rng: random.Random, value: object) -> object:
    """A value changed a little (a number off by one, a list cut) or replaced by any JSON at all."""
    if isinstance(value, bool) or rng.random() < 0.5:
        return rng.choice(ODD_JSON)
    if isinstance(value, int | float):
        return value + rng.choice([-1, 1, value, -2 * value])
    if isinstance(value, list | str):
        return value[: rng.randrange(len(value) + 1)] * rng.randint(1, 2)
    return rng.choice(ODD_JSON)


def _tamper_tree(rng: random.Random, tree: object) -> object:
    """One change somewhere in a JSON tree: a value changed, a key deleted or added."""
    if not isinstance(tree, dict | list) or not tree or rng.random() < 0.2:
        return _odd_value(rng, tree)
    key = rng.choice(list(tree)) if isinstance(tree, dict) else rng.randrange(len(tree))
    roll = rng.random()
    if roll < 0.15:
        del tree[key]
    elif roll < 0.25 and isinstance(tree, dict):
        tree[rng.choice(["evil", "seed", "num_layers", "vocab_size", "tokens", "kind"])] = rng.choice(ODD_JSON)
    else:
        tree[key] = _tamper_tree(rng, tree[key])
    return tree


def _tamper_header(rng: random.Random, header: dict) -> dict:
    """A tensor's dtype, shape or offsets changed, or the Tunesmith metadata (a JSON string) tampered with."""
    # The metadata most of the time: safetensors' own checks refuse most tensor changes before Tunesmith's.
    name = "__metadata__" if rng.random() < 0.6 else rng.choice(list(header))
    if name == "__metadata__":
        meta = json.loads(header[name]["tunesmith"])
        header[name]["tunesmith"] = json.dumps(_tamper_tree(rng, meta)) if rng.random() < 0.9 else "{" + "x" * 10
    elif rng.random() < 0.3:
        header[name]["dtype"] = rng.choice(DTYPES)
    else:
        header[name] = _tamper_tree(rng, header[name])  # shape, data_offsets, or the entry itself
    return header


def _damaged_bytes(rng: random.Random, data: bytes) -> bytes:
    roll = rng.random()
    if roll < 0.5:  # a few bytes flipped anywhere
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        return bytes(damaged)
    if roll < 0.7:
        return data[: rng.randrange(len(data))]
    if roll < 0.85:  # bytes put in or taken out, so that every offset after them is wrong
        at = rng.randrange(len(data))
        return data[:at] + rng.randbytes(rng.randint(1, 64)) + data[at + rng.randint(0, 64):]
    return rng.randbytes(rng.randint(0, 2000))


def tampered_files(seed: int, data: bytes) -> Iterator[bytes]:
    """A real checkpoint's bytes, damaged without end: bytes flipped, cut and inserted; and the header
    re-encoded with its length right, so the damage reaches the checks behind safetensors' own."""
    rng = random.Random(seed)
    while True:
        if rng.random() < 0.5:
            yield _damaged_bytes(rng, data)
        else:
            header, body = _split(data)
            yield _join(_tamper_header(rng, header), body)


def _loads_or_is_refused(folder: Path) -> None:
    try:
        model = load_model(folder)
    except ValueError as error:  # CheckpointError is one
        assert "\n" not in str(error) and str(folder) in str(error), str(error)
    else:
        assert all(torch.isfinite(p).all() for p in model.network.parameters())


def test_a_stream_of_tampered_checkpoints(good, tmp_path):
    """Each tampered file in place of model.safetensors: it loads with finite weights, or one clear line."""
    run, _, _ = good
    folder = tmp_path / "tampered"
    folder.mkdir()

    def feed(data: bytes) -> None:
        (folder / BEST_FILE).write_bytes(data)
        _loads_or_is_refused(folder)

    feed_until_floors(tampered_files(13, (run / BEST_FILE).read_bytes()),
                      [Stage("checkpoint.load_model (tampered)", feed, timeout_s=30)])


def test_config_json_is_documentation_not_input(good, tmp_path):
    """load_model reads only the safetensors file: garbage in config.json changes nothing."""
    run, tensors, meta = good
    folder = _write(tmp_path / "run", tensors, meta)
    for garbage in ("{not json", json.dumps({"model_kind": "transformer", "model_config": {"vocab_size": 1}}), ""):
        (folder / CONFIG_FILE).write_text(garbage)
        tried("checkpoint.load_model (tampered)")
        loaded = load_model(folder)
        assert type(loaded.network).__name__ == "LSTMLanguageModel"
        assert loaded.vocab.tokens == meta["vocab"]["tokens"]


class _Payload:
    """What a pickle-based loader would run: it would leave a marker file behind."""

    marker: Path

    def __reduce__(self):
        return (Path.write_text, (self.marker, "unpickled"))


@pytest.mark.parametrize("how", ["torch.save", "pickle"])
def test_a_pickle_under_the_checkpoint_name_is_never_unpickled(tmp_path, capsys, how):
    payload = _Payload()
    payload.marker = tmp_path / "pwned"
    folder = tmp_path / "run"
    folder.mkdir()
    if how == "torch.save":
        torch.save({"model": payload}, folder / BEST_FILE)
    else:
        (folder / BEST_FILE).write_bytes(pickle.dumps(payload))
    _refused(folder, capsys, "not a Tunesmith checkpoint")
    assert not payload.marker.exists()


def test_no_module_loads_with_pickle():
    """Every checkpoint read goes through safetensors: no torch.load, pickle or numpy allow_pickle."""
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [alias.name for alias in node.names] + [getattr(node, "module", None) or ""]
                assert not {"pickle", "dill", "cloudpickle", "joblib"} & set(names), f"{path.name}:{node.lineno}"
            if isinstance(node, ast.Attribute) and node.attr == "load" and isinstance(node.value, ast.Name):
                assert node.value.id != "torch", f"{path.name}:{node.lineno}: torch.load"
            if isinstance(node, ast.keyword) and node.arg == "allow_pickle":
                raise AssertionError(f"{path.name}:{node.lineno}: allow_pickle")


# ---------------------------------------------------------------- --resume from a tampered last.safetensors


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """A 10-step run of the fault tests' preset, whose last.safetensors the tests below damage."""
    from fuzz.train_child import PRESET
    from tunesmith.data.corpus import load_corpus, split_by_tune
    from tunesmith.learn.training import Trainer

    run = tmp_path_factory.mktemp("resume") / "run"
    split = split_by_tune(load_corpus("airds").tunes, seed=0)
    preset = type(PRESET)(PRESET.description, PRESET.model, type(PRESET.train)(**{**PRESET.train.__dict__,
                                                                                   "max_steps": 10}))
    Trainer(run, split, preset, {"data": ["airds"]}, log=lambda _: None).run(show_progress=False)
    return run


@pytest.mark.parametrize(("name", "change", "phrase"), [
    ("no data", lambda t, m: (t, {k: v for k, v in m.items() if k != "data"}), "no 'data' in it"),
    pytest.param("no optimizer", lambda t, m: (t, {k: v for k, v in m.items() if k != "optimizer"}), "'optimizer'",
                 marks=fuzz_only),
    pytest.param("unknown train setting", lambda t, m: (t, _with(m, train_config={"evil": 1})), "evil",
                 marks=fuzz_only),
    pytest.param("no state", lambda t, m: (t, {k: v for k, v in m.items() if k != "state"}), "'state'",
                 marks=fuzz_only),
    ("a wrong shape", lambda t, m: ({**t, "model.embed.weight": torch.zeros(3, 3)}, m), "size mismatch"),
    ("garbage", None, "not a Tunesmith checkpoint"),
])
def test_resume_from_a_tampered_last_checkpoint(finished_run, tmp_path, capsys, monkeypatch, name, change, phrase):
    import shutil

    from fuzz.train_child import PRESET
    from tunesmith.learn import training

    monkeypatch.setitem(training.PRESETS, "fault", PRESET)
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    if change is None:
        (run / "last.safetensors").write_bytes(b"\x00" * 100)
    else:
        tensors, meta = read_checkpoint(finished_run / "last.safetensors")
        new_tensors, new_meta = change(tensors, meta)
        save_file(new_tensors, str(run / "last.safetensors"), {"tunesmith": json.dumps(new_meta)})
    tried("training --resume (tampered last)")
    capsys.readouterr()
    code = main(["train", "--data", "airds", "--out", str(run), "--preset", "fault", "--quiet", "--resume",
                 "--steps", "20"])
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith(f"tunesmith: {run}") and phrase in err[0], err[0]
