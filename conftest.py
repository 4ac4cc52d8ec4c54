"""Repository-local pytest wiring only.

The plugin itself is loaded by its ``pytest11`` entry point, so user projects need none of this:
here live only what this repository's own runs need (``make test`` and ``make run``).
"""

# pytester drives the plugin in-process in the project's tests; it must be named in the top conftest
pytest_plugins = ["pytester"]

# Build outputs, training assets and benchmark scripts are not tests, whatever their names
collect_ignore = ["build", "judge", "benchmarks", "mlb_pytest.egg-info"]
