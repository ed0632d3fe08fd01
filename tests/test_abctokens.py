import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from tunesmith.abc.units import segment
from tunesmith.data.corpus import load_corpus
from tunesmith.data.vocab import ABCTokenVocab, CharVocab, vocab_from_dict
from tunesmith.learn.scoring import bits_per_char

TUNE = """X:1
T:The Kid's Reel
R:reel
M:6/8
L:1/8
K:Dmix
|:"Am"^f'2 B/ =c,3/2 (3ABc A>B|[K:G] {/g}!trill!d z2 [CEG]2|1 d2 c:|2 d3 ||
[1 a2 :: b2 |] [2 (3:2:3abc d<e|"""


def test_units_are_musical():
    units = segment(TUNE)
    for unit in ["X:1", "T:", "R:reel", "M:6/8", "L:1/8", "K:Dmix", "|:", '"Am"', "^f'2", "B/", "=c,3/2",
                 "(3", ">", "[K:G]", "{/", "!trill!", "z2", "|1", ":|2", "||", "[1", "::", "|]", "[2",
                 "(3:2:3", "<", "\n"]:
        assert unit in units, unit
    assert units[units.index("T:") + 1: units.index("T:") + 4] == ["T", "h", "e"]  # free text: characters
    assert "".join(units) == TUNE


def test_line_aligned_prefix_tokenizes_the_same_alone():
    vocab = ABCTokenVocab.build([TUNE] * 2)
    whole = vocab.tokenize(TUNE)
    for end in [i + 1 for i, ch in enumerate(TUNE) if ch == "\n"]:
        prefix = vocab.tokenize(TUNE[:end])
        assert prefix == whole[: len(prefix)] and prefix[-1] == "\n"


def test_rare_units_fall_back_to_pieces_then_characters():
    vocab = ABCTokenVocab.build(["K:D\nA2 A2 B2 B2 ^c'3/2\n"])
    assert "A2" in vocab.index and "^c'3/2" not in vocab.index  # seen once: not a token
    assert vocab.tokenize("^c'3/2 A2") == ["^", "c", "'", "3", "/", "2", " ", "A2"]
    rich = ABCTokenVocab.build(["K:D\nA3/2 B3/2 ^c'2 ^c'4\n"])
    assert rich.tokenize("^c'3/2") == ["^c'", "3/2"]  # pitch and length, each seen twice
    fields = ABCTokenVocab.build(["M:6/8\nM:6/8\nM:3/4\nM:2/4\n"])
    assert fields.tokenize("M:6/8\nM:3/4") == ["M:6/8", "\n", "M:", "3", "/", "4"]


def test_every_training_character_is_a_token():
    text = "X:1\nT:Café\nK:G\n|:GAB c2:|\n"
    vocab = ABCTokenVocab.build([text])
    assert set(text) - {"\n"} <= {t for t in vocab.tokens if len(t) == 1} | {"\n"}
    assert "\n" in vocab.index
    assert vocab.decode(vocab.encode("éfac BAG|")) == "éfac BAG|"  # never seen as a tune, still encodes


def test_strict_error_unk_and_specials():
    vocab = ABCTokenVocab.build(["X:1\nK:D\nABc|"])
    with pytest.raises(ValueError, match="characters never seen in training: 'é'"):
        vocab.encode("Aé")
    assert vocab.encode("Aé", strict=False) == [vocab.index["A"], vocab.unk]
    ids = vocab.encode_tune("ABc|")
    assert ids[0] == vocab.bos and ids[-1] == vocab.eos and vocab.decode(ids) == "ABc|"
    assert vocab.tokens[:3] == ["<s>", "</s>", "<unk>"] and len(vocab) == len(vocab.tokens)


def test_dict_round_trip_and_dispatch():
    vocab = ABCTokenVocab.build([TUNE, TUNE])
    data = vocab.to_dict()
    assert data["kind"] == "abc"
    again = vocab_from_dict(data)
    assert isinstance(again, ABCTokenVocab) and again.tokens == vocab.tokens
    assert again.encode(TUNE) == vocab.encode(TUNE)
    assert isinstance(vocab_from_dict(CharVocab.build(["AB"]).to_dict()), CharVocab)
    with pytest.raises(ValueError):
        ABCTokenVocab.from_dict(CharVocab.build(["AB"]).to_dict())
    with pytest.raises(ValueError):
        ABCTokenVocab.from_dict({**data, "tokens": data["tokens"][:3] + data["tokens"][3:][::-1]})


def _round_trip(texts: list[str]) -> list[int]:
    vocab = ABCTokenVocab.build(texts)
    return [i for i, text in enumerate(texts) if vocab.decode(vocab.encode(text)) != text]


def test_round_trip_every_tune_of_quirks(quirks_abc):
    texts = [t.text for t in load_corpus(str(quirks_abc)).tunes]
    assert texts and _round_trip(texts) == []


def test_round_trip_every_tune_of_irish(irish_abc):
    texts = [t.text for t in load_corpus(str(irish_abc)).tunes]
    assert len(texts) > 800 and _round_trip(texts) == []


@pytest.mark.parametrize("name", ["oneills", "ryans"])
def test_round_trip_every_tune_of_music21_corpora(name):
    texts = [t.text for t in load_corpus(name).tunes]
    vocab = ABCTokenVocab.build(texts)
    assert len(texts) > 1000 and _round_trip(texts) == []
    assert len(vocab) < 600  # a few hundred tokens, not thousands
    assert sum(len(vocab.encode(t)) for t in texts) < sum(len(t) for t in texts)


ALPHABET = "ABCDEFGabcdefgzZ,'/23^_=|:[]()<>{}\"!+ -.~\nKLMTX8"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=80))
def test_any_text_over_the_training_alphabet_round_trips(text):
    vocab = ABCTokenVocab.build([TUNE, ALPHABET])
    assert vocab.decode(vocab.encode(text)) == text


class Uniform(nn.Module):
    """Equal odds for every token: a model whose bits per token are log2(vocabulary)."""

    def __init__(self, size: int):
        super().__init__()
        self.size, self.weight = size, nn.Parameter(torch.zeros(1))

    def forward(self, x, state=None):
        return torch.zeros(*x.shape, self.size) + 0 * self.weight, None


def test_bits_per_char_divides_by_characters_not_tokens():
    texts = [TUNE, "X:1\nK:G\n|:GAB c2:|"]
    char = CharVocab.build(texts)
    assert bits_per_char(Uniform(len(char)), char, texts) == pytest.approx(math.log2(len(char)))
    abc = ABCTokenVocab.build(texts)
    tokens = sum(len(abc.encode(t)) + 1 for t in texts)
    chars = sum(len(t) + 1 for t in texts)
    assert tokens < chars
    assert bits_per_char(Uniform(len(abc)), abc, texts) == pytest.approx(math.log2(len(abc)) * tokens / chars)
