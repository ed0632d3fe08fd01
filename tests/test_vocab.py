import pytest

from tunesmith.data.vocab import CharVocab


def test_build_encode_decode_round_trip():
    vocab = CharVocab.build(["AB", "BC\n"])
    assert vocab.tokens == ["<s>", "</s>", "<unk>", "\n", "A", "B", "C"]
    assert vocab.encode("AB") == [4, 5]
    assert vocab.decode(vocab.encode_tune("CAB\n")) == "CAB\n"
    assert vocab.encode_tune("A") == [vocab.bos, 4, vocab.eos]


def test_unseen_character_strict_error_or_unk():
    vocab = CharVocab.build(["ABC"])
    with pytest.raises(ValueError, match="characters never seen in training: 'é'"):
        vocab.encode("Aé")
    assert vocab.encode("Aé", strict=False) == [vocab.index["A"], vocab.unk]


def test_dict_round_trip_and_rejects_garbage():
    vocab = CharVocab.build(["X:1\nK:D\nABc|"])
    assert CharVocab.from_dict(vocab.to_dict()).tokens == vocab.tokens
    with pytest.raises(ValueError):
        CharVocab.from_dict({"kind": "char", "tokens": ["a", "b"]})
