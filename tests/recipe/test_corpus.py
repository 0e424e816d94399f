"""Replays tests/recipe/corpus/*.yaml: hostile or once-failing recipe files (the fuzzer's finds land
here). Each file's first line is ``# expect: ok`` or ``# expect: <text of the one error line>``."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import synthdata
from synthdata.cli import main
from synthdata.errors import UserError

CORPUS = sorted((Path(__file__).parent / "corpus").glob("*.yaml"))


def test_the_corpus_is_there():
    assert len(CORPUS) >= 10


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_corpus_file(path: Path, capsys):
    expect = path.read_text().splitlines()[0].removeprefix("# expect:").strip()
    start = time.perf_counter()
    rc = main(["validate", str(path)])
    err = capsys.readouterr().err
    assert time.perf_counter() - start < 10
    assert "Traceback" not in err
    if expect == "ok":
        assert rc == 0, err
        return
    assert rc == 2 and len(err.strip().splitlines()) == 1 and expect in err, err
    with pytest.raises(UserError):  # the API raises what the CLI printed
        synthdata.load_recipe(str(path))
