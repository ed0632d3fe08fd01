"""The sampler service: requests from many threads written in one batch, each tune as sample_tunes writes it."""

import threading

import pytest

from tunesmith.abc.grammar import Form
from tunesmith.sample.sampling import SamplingSettings, generate, sample_tunes
from tunesmith.sample.service import SamplerService

REQUESTS = [  # different headers, settings and forms, so the rows of one batch differ in every way
    dict(num=3, key="G", meter="6/8", rhythm="jig", seed=1, form=Form(2, 4)),
    dict(num=2, key="D", meter="C|", seed=2, settings=SamplingSettings(temperature=0.8, top_p=0.9)),
    dict(num=2, seed=3, settings=SamplingSettings(constrain=False, max_chars=300)),
    dict(num=1, key="Ador", meter="3/4", seed=4, form="auto", settings=SamplingSettings(top_k=5)),
]


def _texts(samples):
    return [s.text for s in samples]


@pytest.mark.parametrize("rows", [2, 64])
def test_requests_from_many_threads_get_the_tunes_they_would_get_alone(tiny_model, rows):
    alone = [_texts(sample_tunes(tiny_model, **request)) for request in REQUESTS]
    service = SamplerService(tiny_model, rows=rows)
    together = [None] * len(REQUESTS)

    def ask(i):
        together[i] = _texts(sample_tunes(tiny_model, service=service, **REQUESTS[i]))

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(REQUESTS))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert together == alone


def test_a_refused_prime_fails_its_own_request_only(tiny_model):
    service = SamplerService(tiny_model, rows=4)
    good = service.submit([])  # an empty request is answered at once
    assert good.result(1) == []
    with pytest.raises(ValueError, match="cannot start a well-formed tune"):
        generate(tiny_model, 2, meter="3/4", key="D", prime="|ABCDEFGABCDEFG|", seed=0, service=service)
    assert len(generate(tiny_model, 2, meter="3/4", key="D", seed=0, service=service, max_chars=400)) == 2
