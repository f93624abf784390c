"""The README's Python examples run as written."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


@pytest.mark.parametrize("i", range(len(BLOCKS)))
def test_readme_python_block_runs(i, tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    code = BLOCKS[i].replace("repeats=50", "repeats=3")  # same code, fewer repeats
    exec(compile(code, f"README block {i}", "exec"), {"__name__": "__readme__"})


def test_readme_has_the_two_setup_commands():
    text = README.read_text()
    assert "pip install . && lcore simulate" in text
    ci = (README.parent / ".ci" / "run").read_text()
    test_cmd = re.search(r"pip install -e '\.\[test\]' && python -m pytest -q", text)
    assert test_cmd and test_cmd.group(0) in ci
