import pytest
import torch

from tunesmith.sampling import SamplingSettings, filter_logits, generate, header_script, sample_tunes


def test_header_scripts():
    assert header_script() == ["X:1\n"]
    assert header_script(key="a dorian", meter="6/8", rhythm="Jig") == [
        "X:1\nT:", None, "R:jig\nM:6/8\nL:", None, "K:Ador\n"]
    assert header_script(prime="|:GAB") == ["X:1\nT:", None, "M:", None, "L:", None, "K:", None, "|:GAB"]
    assert header_script(prime="X:1\nT:Mine\nK:D\n") == ["X:1\nT:Mine\nK:D\n"]


def test_top_k_and_top_p():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    kept = lambda **kw: torch.isfinite(filter_logits(logits, SamplingSettings(**kw)))[0].tolist()  # noqa: E731
    assert kept(top_k=2) == [True, True, False, False]
    assert kept(top_p=0.7) == [True, True, False, False]
    assert kept(top_p=0.1) == [True, False, False, False]
    assert kept(top_p=0.9) == [True, True, True, False]


def test_same_seed_same_tunes(tiny_model):
    a = generate(tiny_model, 3, seed=5, max_chars=300)
    assert a == generate(tiny_model, 3, seed=5, max_chars=300)
    assert a != generate(tiny_model, 3, seed=6, max_chars=300)


def test_requested_header_is_written(tiny_model):
    samples = sample_tunes(tiny_model, 4, key="E minor", meter="6/8", rhythm="jig", seed=1,
                           settings=SamplingSettings(max_chars=400))
    for sample in samples:
        lines = sample.text.split("\n")
        assert lines[0] == "X:1" and lines[1].startswith("T:")
        assert lines[2:4] == ["R:jig", "M:6/8"] and lines[4].startswith("L:") and lines[5] == "K:Em"


def test_length_cap_marks_unfinished(tiny_model):
    samples = sample_tunes(tiny_model, 2, settings=SamplingSettings(max_chars=20), seed=0)
    assert all(len(s.text) == 20 and not s.finished for s in samples)


def test_prime_with_unknown_characters_is_a_clear_error(tiny_model):
    with pytest.raises(ValueError, match="never seen in training"):
        generate(tiny_model, 1, prime="ABC€")
