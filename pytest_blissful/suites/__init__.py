"""Ready-made suites that run against any target described by ``blissful.yaml``.

From a service repo: ``pytest --pyargs pytest_blissful.suites -m smoke``.
"""
