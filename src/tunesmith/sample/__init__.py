"""Writing tunes: batched sampling under the grammar, forms and cadences, requests."""
