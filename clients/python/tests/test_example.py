"""examples/quickstart.py, the package's example, runs against the real server."""

from __future__ import annotations

import os
import subprocess
import sys

from .conftest import TOKEN

EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "quickstart.py")


def test_the_quickstart_example(server: str, tmp_path) -> None:
    data = tmp_path / "data.csv"
    data.write_text("id,name\n7001,Ada\n7001,Ada again\n")
    run = subprocess.run(
        [sys.executable, EXAMPLE, str(data)],
        env=dict(os.environ, SPECTRA_SERVER=server, SPECTRA_TOKEN=TOKEN),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].split()[1:] == ["JobComplete", "2", "1"]
    assert lines[1].startswith("2 DUPLICATE_KEY: ")
    assert ": JobComplete, 2 records processed, 1 failed, 100%" in run.stderr, "progress goes to standard error"


def test_the_readme_shows_the_example() -> None:
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(EXAMPLE))))
    with open(os.path.join(root, "README.md"), encoding="utf-8") as readme, open(EXAMPLE, encoding="utf-8") as example:
        assert "```python\n" + example.read() + "```\n" in readme.read()
