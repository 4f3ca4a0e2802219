"""Light commands answer without importing torch, transformers or Ray (about 5 s of imports on 2 cores)."""

import subprocess
import sys

import pytest

HEAVY = ("torch", "transformers", "ray", "peft", "webdataset")
PROGRAM = """
import sys
from nanoemox.cli.common import run
from nanoemox.cli.{module} import main
try:
    run(main, {argv!r})
except SystemExit:
    pass
print(sorted(name for name in {heavy!r} if name in sys.modules))
"""


def imported_after(module: str, argv: list[str]) -> str:
    code = PROGRAM.format(module=module, argv=argv, heavy=HEAVY)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("module", "argv"),
    [
        ("main", ["--help"]),
        ("main", ["datasets", "list"]),
        ("main", ["config", "show", "--preset", "tiny"]),
        ("main", ["info", "--help"]),
        ("main", ["predict", "--help"]),
        ("extract", ["--help"]),
        ("train", ["--help"]),
        ("score", ["--help"]),
        ("eval", ["--help"]),
    ],
)
def test_light_commands_import_no_heavy_module(module, argv):
    assert imported_after(module, argv) == "[]"


def test_shards_inspect_imports_no_heavy_module(tmp_path):
    assert imported_after("main", ["shards", "inspect", str(tmp_path)]) == "[]"
