"""Run the ``honeyhive-trace`` command as ``python -m honeyhive_trace.cli``."""

from honeyhive_trace.cli import main

raise SystemExit(main())
