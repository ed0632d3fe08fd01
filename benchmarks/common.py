"""What every benchmark shares: print the figures, and keep them as JSON when asked."""

from __future__ import annotations

import json


def report(figures: dict, json_path: str | None) -> None:
    print(json.dumps(figures, indent=2))
    if json_path:
        with open(json_path, "w") as handle:
            json.dump(figures, handle, indent=2)
