"""``python -m pytest_blissful.report html``: see :mod:`pytest_blissful.report.html_report`."""

from pytest_blissful.report.html_report import main

raise SystemExit(main())
