import pytest

from tunesmith.abc.text import Tune
from tunesmith.data.corpus import DataError, corpus_stats, load_corpus, resolve_files, split_by_tune


def _tunes(n, duplicates=0):
    tunes = [Tune(f"X:1\nT:t{i}\nK:D\n{'AB' * (i + 1)}|") for i in range(n)]
    tunes += [Tune(f"X:1\nT:copy{i}\nK:D\n{'AB' * (i + 1)}|") for i in range(duplicates)]
    return tunes


def test_split_sizes_and_determinism():
    tunes = _tunes(1000)
    a, b = split_by_tune(tunes, seed=3), split_by_tune(tunes, seed=3)
    assert a.sizes() == {"train": 900, "valid": 50, "test": 50}
    assert [t.text for t in a.valid] == [t.text for t in b.valid]
    assert [t.text for t in split_by_tune(tunes, seed=4).valid] != [t.text for t in a.valid]
    texts = [set(t.text for t in part) for part in (a.train, a.valid, a.test)]
    assert not (texts[0] & texts[1] or texts[0] & texts[2] or texts[1] & texts[2])


def test_duplicate_music_stays_on_one_side():
    split = split_by_tune(_tunes(200, duplicates=200), seed=0)
    for part, others in ((split.train, split.valid + split.test), (split.valid, split.train + split.test)):
        bodies = {t.text.split("K:D\n")[1] for t in part}
        assert not bodies & {t.text.split("K:D\n")[1] for t in others}


def test_resolve_file_folder_and_named(tmp_path, quirks_abc):
    assert resolve_files(str(quirks_abc)) == [quirks_abc]
    (tmp_path / "a.abc").write_text("X:1\nK:D\nABc|\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.ABC").write_text("X:1\nK:G\nGAB|\n")
    (tmp_path / "notes.txt").write_text("not abc")
    assert [p.name for p in resolve_files(str(tmp_path))] == ["a.abc", "b.ABC"]
    assert len(resolve_files("oneills")) > 30


def test_unknown_data_names_the_choices():
    with pytest.raises(DataError, match="no-such.abc: no such file or folder, and not a named corpus"):
        resolve_files("no-such.abc")


def test_mit_without_the_package_says_what_to_do():
    import importlib.util

    if importlib.util.find_spec("mitdeeplearning") is not None:
        pytest.skip("mitdeeplearning is installed here")
    with pytest.raises(DataError, match="pass the path of irish.abc"):
        resolve_files("mit")


def test_unreadable_and_binary_files_are_skipped_not_fatal(tmp_path, quirks_abc):
    (tmp_path / "good.abc").write_text("X:1\nK:D\nABc|\n")
    (tmp_path / "binary.abc").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "locked.abc").mkdir()  # a folder named like a file cannot be read as one
    corpus = load_corpus([str(tmp_path / "good.abc"), str(tmp_path / "binary.abc"), str(quirks_abc)])
    assert len(corpus.tunes) == 4
    assert any("binary.abc" in str(e) for e in corpus.skipped)


def test_stats(quirks_abc):
    stats = corpus_stats(load_corpus(str(quirks_abc)))
    assert stats["tunes"] == 3 and stats["skipped"] == 3
    assert stats["skipped_reasons"]["no K: (key) field"] == 1
