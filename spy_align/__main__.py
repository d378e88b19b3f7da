"""`python -m spy_align ...` is `spy-align ...` (handy with `torchrun -m` / `accelerate launch -m`)."""

import sys

from .cli import main

sys.exit(main())
