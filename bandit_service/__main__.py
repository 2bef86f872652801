"""`python -m bandit_service` is `banditd`."""

import sys

from .launch import main

sys.exit(main())
