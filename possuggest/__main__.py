"""Allow ``python -m possuggest``."""

from possuggest.cli.main import main

raise SystemExit(main())
