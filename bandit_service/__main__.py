"""`python -m bandit_service` is `banditd`."""

import sys

from .cli import main

sys.exit(main())
