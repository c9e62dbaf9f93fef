"""`dvhpc compile`: golden output, determinism, --check, hand-edit protection, atomic replacement."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dvhpc.build import compile_specs
from dvhpc.output import writer

ROOT = Path(__file__).resolve().parent.parent


def dvhpc(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dvhpc", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the repository's sites/ in a fresh project folder."""
    shutil.copytree(ROOT / "sites", tmp_path / "sites")
    return tmp_path


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_compile_matches_committed_golden_output(project):
    proc = dvhpc("compile", "sites/example.yaml", "sites/dynvision-greene.yaml", cwd=project)
    assert proc.returncode == 0, proc.stderr
    for site in ("example", "dynvision-greene"):
        assert tree(project / "generated" / site) == tree(ROOT / "generated" / site), (
            f"generated/{site} differs from the committed golden output; run `dvhpc compile sites/*.yaml`")


def test_compile_is_deterministic_from_any_cwd(project, tmp_path_factory):
    other = tmp_path_factory.mktemp("elsewhere")
    first = dvhpc("compile", "sites/example.yaml", cwd=project)
    assert first.returncode == 0, first.stderr
    snapshot = tree(project / "generated" / "example")
    shutil.rmtree(project / "generated")
    second = dvhpc("compile", str(project / "sites" / "example.yaml"), "--out", str(project / "generated"), cwd=other)
    assert second.returncode == 0, second.stderr
    assert tree(project / "generated" / "example") == snapshot
    text = b"".join(snapshot.values()).decode()
    assert str(project) not in text and str(other) not in text  # no absolute paths of this machine


def test_compile_reports_and_second_run_is_unchanged(project):
    first = dvhpc("compile", "sites/example.yaml", cwd=project)
    assert "generated/example: wrote" in first.stdout
    second = dvhpc("compile", "sites/example.yaml", cwd=project)
    assert second.returncode == 0 and "generated/example: unchanged" in second.stdout
    expected = {"profile/profile.v9+.yaml", "resources.yaml", "bootstrap.sh", "run.sh", "jobs.sh", "wrap.sh",
                "site_paths.py", "MANIFEST.json"}
    assert expected <= set(tree(project / "generated" / "example"))


def test_json_format_keeps_stdout_one_document(project):
    """With --format json a CI step pipes stdout into a parser: the status lines go to stderr."""
    for extra in ((), ("--check",)):
        proc = dvhpc("compile", "sites/example.yaml", "--format", "json", *extra, cwd=project)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout) == []
        assert "generated/example:" in proc.stderr


def test_abstract_layer_is_not_compiled(project):
    proc = dvhpc("compile", "sites/base.yaml", cwd=project)
    assert proc.returncode == 0 and "abstract" in proc.stdout
    assert not (project / "generated").exists() or not any((project / "generated").iterdir())


def test_invalid_spec_writes_nothing(project):
    (project / "sites" / "bad.yaml").write_text("dvhpc: 1\nsite: bad\nresources:\n  defaults: {mem: 16000}\n")
    proc = dvhpc("compile", "sites/bad.yaml", cwd=project)
    assert proc.returncode == 1
    assert "sites/bad.yaml:4:19: error[DV204]" in proc.stderr
    assert not (project / "generated" / "bad").exists()


def test_manifest_lists_inputs_and_outputs(project):
    dvhpc("compile", "sites/example.yaml", cwd=project)
    site = project / "generated" / "example"
    manifest = json.loads((site / "MANIFEST.json").read_text())
    assert [i["path"] for i in manifest["inputs"]] == ["sites/base.yaml", "sites/example.yaml"]
    assert manifest["inputs"][1]["sha256"] == hashlib.sha256((project / "sites/example.yaml").read_bytes()).hexdigest()
    for path, digest in manifest["files"].items():
        assert hashlib.sha256((site / path).read_bytes()).hexdigest() == digest


def test_check_reports_stale_output(project):
    assert dvhpc("compile", "sites/example.yaml", cwd=project).returncode == 0
    ok = dvhpc("compile", "--check", "sites/example.yaml", cwd=project)
    assert ok.returncode == 0 and "up to date" in ok.stdout
    spec = project / "sites" / "example.yaml"
    spec.write_text(spec.read_text().replace("jobs: 100", "jobs: 120"))
    before = tree(project / "generated" / "example")
    stale = dvhpc("compile", "--check", "sites/example.yaml", cwd=project)
    assert stale.returncode == 1
    assert "generated/example: out of date" in stale.stdout
    assert "differs: generated/example/profile/profile.v9+.yaml" in stale.stdout
    assert tree(project / "generated" / "example") == before  # --check writes nothing
    missing = dvhpc("compile", "--check", "sites/dynvision-greene.yaml", cwd=project)
    assert missing.returncode == 1 and "missing:" in missing.stdout


def test_hand_edited_file_is_not_clobbered(project):
    dvhpc("compile", "sites/example.yaml", cwd=project)
    run_sh = project / "generated" / "example" / "run.sh"
    run_sh.write_text(run_sh.read_text() + "# my local tweak\n")
    spec = project / "sites" / "example.yaml"
    spec.write_text(spec.read_text().replace("jobs: 100", "jobs: 120"))
    refused = dvhpc("compile", "sites/example.yaml", cwd=project)
    assert refused.returncode == 1
    assert "error[DV401]" in refused.stderr and "run.sh" in refused.stderr and "--force" in refused.stderr
    assert run_sh.read_text().endswith("# my local tweak\n")
    assert "jobs: 100" in (project / "generated/example/profile/profile.v9+.yaml").read_text()
    forced = dvhpc("compile", "--force", "sites/example.yaml", cwd=project)
    assert forced.returncode == 0, forced.stderr
    assert "my local tweak" not in run_sh.read_text()
    assert "jobs: 120" in (project / "generated/example/profile/profile.v9+.yaml").read_text()


def test_files_that_are_not_ours_survive(project):
    dvhpc("compile", "sites/example.yaml", cwd=project)
    notes = project / "generated" / "example" / "NOTES.md"
    notes.write_text("ours, not dvhpc's\n")
    (project / "generated" / "example" / "extra").mkdir()
    (project / "generated" / "example" / "extra" / "x.txt").write_text("x")
    spec = project / "sites" / "example.yaml"
    spec.write_text(spec.read_text().replace("jobs: 100", "jobs: 120"))
    assert dvhpc("compile", "sites/example.yaml", cwd=project).returncode == 0
    assert notes.read_text() == "ours, not dvhpc's\n"
    assert (project / "generated" / "example" / "extra" / "x.txt").read_text() == "x"


def test_failure_while_writing_keeps_old_output(project, monkeypatch):
    out = project / "generated"
    compile_specs([str(project / "sites" / "example.yaml")], out)
    before = tree(out / "example")
    spec = project / "sites" / "example.yaml"
    spec.write_text(spec.read_text().replace("jobs: 100", "jobs: 120"))
    original = writer._fill

    def fill_then_fail(tmp, site_dir, files):
        original(tmp, site_dir, files)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writer, "_fill", fill_then_fail)
    results = compile_specs([str(spec)], out)
    assert results[0].skipped == "write failed"
    assert tree(out / "example") == before
    assert not [p for p in out.iterdir() if p.name.startswith(".example.tmp-")]


def test_sigkill_during_compile_leaves_old_or_new(project):
    """Kill compiles at many moments: the folder is always a complete old or new output."""
    out = project / "generated"
    assert dvhpc("compile", "sites/example.yaml", cwd=project).returncode == 0
    old = tree(out / "example")
    spec = project / "sites" / "example.yaml"
    spec.write_text(spec.read_text().replace("jobs: 100", "jobs: 120"))
    for delay in [0.05 * i for i in range(1, 16)]:
        command = [sys.executable, "-m", "dvhpc", "compile", "--force", "sites/example.yaml"]
        proc = subprocess.Popen(command, cwd=project, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        current = tree(out / "example") if (out / "example").exists() else None
        if current is None:  # killed between two renames (no renameat2): the next run restores
            assert dvhpc("compile", "--check", "sites/example.yaml", cwd=project).returncode in (0, 1)
            current = tree(out / "example")
        assert current == old or dvhpc("compile", "--check", "sites/example.yaml", cwd=project).returncode == 0
        if current != old:
            old = current  # the new output landed completely; later kills must keep it
    final = dvhpc("compile", "sites/example.yaml", cwd=project)
    assert final.returncode == 0
    assert not [p for p in out.iterdir() if p.name.startswith((".example.tmp-", ".example.old-"))]


def test_refuses_symlinked_site_folder(project, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (project / "generated").mkdir()
    os.symlink(elsewhere, project / "generated" / "example")
    proc = dvhpc("compile", "sites/example.yaml", cwd=project)
    assert proc.returncode == 1 and "symlink" in proc.stderr
    assert not any(elsewhere.iterdir())


def test_same_site_twice_in_one_call_is_an_error(project):
    shutil.copy(project / "sites" / "example.yaml", project / "sites" / "copy.yaml")
    proc = dvhpc("compile", "sites/example.yaml", "sites/copy.yaml", cwd=project)
    assert proc.returncode == 1 and "also compiled from" in proc.stderr
