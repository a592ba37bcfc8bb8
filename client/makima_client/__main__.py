"""`python -m makima_client` is the `makima` command."""

from makima_client.cli import main

raise SystemExit(main())
