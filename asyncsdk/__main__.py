"""``python -m asyncsdk`` runs the ``asyncsdk`` command."""

import sys

from .cli import main

sys.exit(main())
