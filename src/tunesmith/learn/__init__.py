"""Training: the loop and its presets, held-out scoring, devices, distributed runs, diagnostics."""
