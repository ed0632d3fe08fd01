import torch

from tunesmith.data.batching import concatenate, padded_batches, random_windows


def test_lab_batch_invariants():
    stream = concatenate([[0, 5, 6, 7, 1], [0, 8, 9, 1]] * 20)
    x, y = random_windows(stream, batch_size=8, seq_length=10, generator=torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (8, 10)
    assert torch.equal(x[:, 1:], y[:, :-1])
    text = stream.tolist()
    for row_x, row_y in zip(x.tolist(), y.tolist()):
        window = row_x + row_y[-1:]
        assert any(text[i : i + 11] == window for i in range(len(text) - 10))


def test_padded_batches_cover_every_prediction_once():
    docs = [[0, 3, 4, 1], [0, 3, 1], [0, 5, 6, 7, 8, 1]]
    batches = padded_batches(docs, max_tokens=8)
    predicted = sum(int((y != -100).sum()) for _, y in batches)
    assert predicted == sum(len(d) - 1 for d in docs)
    for x, y in batches:
        assert x.shape == y.shape
