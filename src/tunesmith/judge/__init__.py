"""Judging tunes: the checker, evaluation against held-out tunes, realism, control, comparisons."""
