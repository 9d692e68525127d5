"""``python -m gemcheck``: the same as the ``gemcheck`` command."""

from gemcheck.cli import main

raise SystemExit(main())
