"""Allow ``python -m possuggest``."""

from possuggest.cli import main

raise SystemExit(main())
