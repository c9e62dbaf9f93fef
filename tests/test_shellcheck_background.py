"""`dvhpc lint` starts shellcheck of the template shapes before it checks the specs
(rules/shellcheck.BackgroundCheck): same findings as a direct check, cached by content, and nothing
left behind when lint stops early."""

from __future__ import annotations

import os

import pytest

import dvhpc.rules.shellcheck as sc
from conftest import REPO

GOOD, BAD = "#!/bin/bash\necho \"$1\"\n", "#!/bin/bash\nif [ $x = y ]; then echo; fi\n"


@pytest.mark.shellcheck
def test_background_check_finds_what_a_direct_check_finds_and_caches_it(tmp_path):
    program = sc.binary()
    assert program is not None
    running = sc.BackgroundCheck([GOOD, BAD, GOOD], program, tmp_path / "cache")
    found = running.result()
    assert found == sc.check_scripts([GOOD, BAD], program)
    assert found[GOOD] == [] and {f.code for f in found[BAD]} == {2154}
    assert len(list((tmp_path / "cache").rglob("*.json"))) == 2
    again = sc.BackgroundCheck([BAD, GOOD], program, tmp_path / "cache")
    assert again._started[1] == []  # both known: no shellcheck started
    assert again.result() == found


@pytest.mark.shellcheck
def test_closing_a_running_check_stops_it_and_removes_its_files():
    program = sc.binary()
    assert program is not None
    running = sc.BackgroundCheck([BAD * 2000], program, None)
    folder = running._tmp.name
    assert os.path.isdir(folder)
    running.close()
    assert running._started[1] and all(proc.returncode is not None for proc in running._started[1])
    assert not os.path.exists(folder)


def test_lint_starts_the_shapes_check_before_the_specs_and_checks_every_shape(monkeypatch):
    """The shapes depend on no spec: lint hands all of them to shellcheck before it checks a spec."""
    import dvhpc.lint as lint
    from dvhpc.emit import scripts

    order = []

    class Recording:
        def __init__(self, texts, _program, _cache):
            order.append(("shellcheck", sorted(texts)))

        def result(self):
            return {text: [] for text in scripts.shapes().values()}

        def close(self):
            order.append(("closed", None))

    real_chunk = lint._lint_chunk
    monkeypatch.setattr(sc, "BackgroundCheck", Recording)
    monkeypatch.setattr(lint, "shellcheck_binary", lambda: "/bin/true")
    monkeypatch.setattr(lint, "_lint_chunk", lambda specs, options: order.append(("specs", None))
                        or real_chunk(specs, options))
    results = lint.lint_specs([str(REPO / "sites" / "example.yaml")], jobs=1, cache=False)
    assert [step for step, _ in order] == ["shellcheck", "specs", "closed"]
    assert order[0][1] == sorted(scripts.shapes().values())
    assert [d.code for d in results[0].report.items if d.code.startswith("DV36")] == []
