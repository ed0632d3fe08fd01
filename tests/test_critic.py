"""The critic: candidates written in one batch, scored by the model's likelihood and what a player hears."""

import math

import pytest

from tunesmith.judge.critic import COPIED_BARS, Critique, best_of, books_repeat_share, critique, novelty_index
from tunesmith.sample.sampling import Sample, SamplingSettings, sample_tunes

HOME = "X:1\nT:h\nM:C|\nL:1/8\nK:D\n|:dAFA dAFA|GBAG FDED|dAFA dAFA|GBAG FED2:|"
AWAY = "X:1\nT:a\nM:C|\nL:1/8\nK:D\n|:dAFA dAFA|GBAG FDED|dAFA dAFA|GBAG FEE2:|"


def _sample(text: str, bits: float = 1.5, tokens: int = 100, finished: bool = True) -> Sample:
    return Sample(text, finished, log_likelihood=-bits * tokens * math.log(2), scored_tokens=tokens)


def test_the_tonic_ending_and_the_likelihood_both_count():
    home, away = critique(_sample(HOME), 0.25), critique(_sample(AWAY), 0.25)
    assert home.ends_on_tonic and not away.ends_on_tonic
    assert home.score > away.score
    assert home.bits_per_token == pytest.approx(1.5)
    assert critique(_sample(AWAY, bits=0.2), 0.25).score > critique(_sample(HOME, bits=2.5), 0.25).score


def test_the_ending_the_form_asked_for_counts_not_the_tonic_itself():
    """A tune asked to end on the second (as 6 % of the books' reels do) is not marked down for doing so."""
    asked_second = critique(Sample(AWAY, True, cadences=(None, 2), log_likelihood=-100.0,
                                 scored_tokens=100), 0.25)
    asked_home = critique(Sample(AWAY, True, cadences=(None, 1), log_likelihood=-100.0,
                                 scored_tokens=100), 0.25)
    assert asked_second.ends_as_asked and not asked_second.ends_on_tonic and not asked_home.ends_as_asked
    assert asked_second.score > asked_home.score


def test_repeats_far_from_the_books_cost_and_an_unfinished_tune_loses():
    assert critique(_sample(HOME), 0.25).score > critique(_sample(HOME), 0.75).score  # HOME repeats a bar in four
    assert critique(_sample(HOME, finished=False), 0.5).score < critique(_sample(AWAY, bits=5), 0.5).score


def test_a_copy_of_a_training_tune_is_seen():
    index = novelty_index([HOME])
    assert critique(_sample(HOME), 0.25, index).copied_bars >= COPIED_BARS


def test_the_books_share_comes_from_the_run(tiny_model):
    share = books_repeat_share(tiny_model)
    assert 0.05 < share < 0.5  # O'Neill's tunes play a bar in five or so again


def test_the_model_scores_its_own_text(tiny_model):
    samples = sample_tunes(tiny_model, 3, meter="6/8", key="G", seed=1, settings=SamplingSettings(top_p=None))
    for sample in samples:
        assert sample.scored_tokens > 20 and sample.log_likelihood < 0
        assert 0.3 < -sample.log_likelihood / math.log(2) / sample.scored_tokens < 6


def test_the_best_of_each_request_is_kept(tiny_model):
    settings = SamplingSettings(top_p=None, max_chars=600)
    kept = best_of(tiny_model, 2, 3, meter="6/8", key="G", seed=4, settings=settings)
    pool = sample_tunes(tiny_model, 2, candidates=3, meter="6/8", key="G", seed=4, settings=settings)
    assert len(kept) == 2 and len(pool) == 6
    share = books_repeat_share(tiny_model)
    for number, (sample, verdict) in enumerate(kept):
        group = [critique(s, share) for s in pool[3 * number:3 * number + 3]]
        assert sample.text in [s.text for s in pool[3 * number:3 * number + 3]]
        assert verdict.score == max(c.score for c in group)
    assert isinstance(kept[0][1], Critique) and "best of 3" in kept[0][1].provenance(3)


def test_candidates_must_be_one_or_more(tiny_model):
    with pytest.raises(ValueError, match="candidates"):
        sample_tunes(tiny_model, 1, candidates=0)
