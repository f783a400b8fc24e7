"""``python -m screener ...``: see :mod:`screener.cli`."""

from screener.cli import main

raise SystemExit(main())
