"""`python -m tunesmith.cli` (as torchrun starts each training process): the `tunesmith` command."""

import sys

from tunesmith.cli import main

sys.exit(main())
