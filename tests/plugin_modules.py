"""Writing throwaway plugin modules in tests: the `plugin_dir` fixture (in conftest.py) puts a folder on
sys.path and forgets every `fbntest_*` module afterwards; `write_plugin` writes one there."""

import textwrap


def write_plugin(folder, name, body):
    (folder / f"{name}.py").write_text(textwrap.dedent(body))
