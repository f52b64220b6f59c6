"""``python -m neurolatent``."""

import sys

from neurolatent.cli import main

sys.exit(main())
