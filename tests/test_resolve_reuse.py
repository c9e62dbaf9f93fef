"""Resolve takes a request's layered values from the check pass of the one set it uses
(`Resolver.used`); attempts and scaled values skip the cap arithmetic where nothing can be capped.
Differential tests: the same sites and the same diagnostics as the general computation."""

from __future__ import annotations

from pathlib import Path

import pytest

from dvhpc.model.units import Duration, Factor, Memory, Scaled
from dvhpc.pipeline import check
from dvhpc.resolve import resolver

FIXTURES = Path(__file__).parent / "fixtures"

SETS_SPEC = """\
dvhpc: 1
site: reuse
detect: {env: {SLURM_CLUSTER_NAME: reuse}}
slurm:
  account: lab
  partitions:
    cpu: {default: true, max_time: 2d, cpus: 48, mem: 180G, nodes: 10}
    gpu: {max_time: 1d, cpus: 32, mem: 360G, nodes: 4, gpus: {a100: 4}}
snakemake: {restart_times: 3}
resources:
  defaults: {use: small, cpus: 2, mem: 4G, time: 1h}
  sets:
    small: {cpus: 1, mem: 2G}
    big: {use: small, mem: 300G, retry: {mem: 2x, time: 1.5x}, time: 20h}
    gpu_job: {use: [big, small], partition: gpu, gpus: 1, gpu_type: h100}
    loop_a: {use: loop_b, cpus: 3}
    loop_b: {use: loop_a}
    lost: {use: nowhere, partition: nopart}
    unused: {partition: "gpu", time: 2h}
  rules:
    a: big
    b: {use: big}
    c: {use: big, mem: 8G, partition: gpu}
    d: {use: gpu_job, gpu_type: a100}
    e: {use: [small, big]}
    f: loop_a
    g: {use: loop_a}
    h: {use: lost}
    i: {use: lost, partition: cpu}
    j: nothing
    k: {cpus: 4}
"""


class _NeverKept(dict):
    def __setitem__(self, key, value) -> None:
        pass


class _GeneralResolver(resolver.Resolver):
    """Every request computes its chain of sets itself."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.used = _NeverKept()


def _value(value) -> object:
    """A value with the places of retry factors found (their origins find them when asked)."""
    if isinstance(value, dict):
        return {key.name: (item.value, item.origin.label, item.origin.location) for key, item in value.items()}
    return value


def _partition(part) -> tuple | None:
    return None if part is None else (part.name, part.max_time, part.cpus, part.mem, part.nodes, part.gpus,
                                      part.location)


def _summary(site, report) -> tuple:
    diagnostics = [(d.code, d.location, d.message, d.notes) for d in report.items]
    if site is None:
        return None, diagnostics
    requests = {}
    for res in [site.defaults, *site.rules.values()]:
        requests[res.name] = (
            {key.name: (_value(item.value), item.origin.label, item.origin.location)
             for key, item in res.values.items()},
            res.sets, _partition(res.partition), res.location, res.requests, res.attempts)
    return requests, diagnostics


def _checked(spec: str, monkeypatch) -> tuple:
    """The resolved site (also of a spec with errors: the pipeline drops it) and every diagnostic."""
    sites = []
    resolve = resolver.resolve

    def kept(*args, **kwargs):
        sites.append(resolve(*args, **kwargs))
        return sites[-1]

    with monkeypatch.context() as patch:
        patch.setattr(resolver, "resolve", kept)
        checked = check(spec)
    return _summary(sites[0] if sites else None, checked.report)


def _both(spec: str, monkeypatch) -> tuple:
    fast = _checked(spec, monkeypatch)
    with monkeypatch.context() as patch:
        patch.setattr(resolver, "Resolver", _GeneralResolver)
        general = _checked(spec, monkeypatch)
    return fast, general


def test_sets_spec_resolves_as_the_general_computation(tmp_path, monkeypatch):
    spec = tmp_path / "reuse.yaml"
    spec.write_text(SETS_SPEC)
    fast, general = _both(str(spec), monkeypatch)
    assert fast[0] is not None and len(fast[1]) > 0  # the spec resolves and reports (cycle, unknown names)
    assert fast == general


@pytest.mark.parametrize("spec", sorted(str(p) for p in (FIXTURES / "lint").glob("*.yaml")))
def test_lint_fixtures_resolve_as_the_general_computation(spec, monkeypatch):
    fast, general = _both(spec, monkeypatch)
    assert fast == general


def _general_at(scaled: Scaled, attempt: int):
    grown = scaled.base if scaled.factor is None else scaled.base.scaled(scaled.factor.at(attempt))
    limit = scaled.limit
    return limit if limit is not None and grown.count > limit.count else grown


@pytest.mark.parametrize("base", [Memory(1000), Memory(4096), Duration.parse("2h")])
@pytest.mark.parametrize("factor", [None, "1.5x", "2x"])
@pytest.mark.parametrize("cap", [None, "low", "high"])
def test_scaled_attempts_agree_with_the_general_formula(base, factor, cap):
    kind = type(base)
    limit = None if cap is None else kind.parse("1G" if kind is Memory else "1h") if cap == "low" \
        else kind.parse("9G" if kind is Memory else "10h")
    scaled = Scaled(base, Factor.parse(factor) if factor else None, limit)
    for attempt in range(1, 7):
        assert scaled.at(attempt) == _general_at(scaled, attempt)
        assert scaled.is_capped(attempt) == (scaled.limit is not None and _general_at(scaled, attempt) == scaled.limit
                                             and scaled.grown(attempt).count > scaled.limit.count)


def test_attempts_list_the_capped_keys_as_the_general_computation():
    from dvhpc.model import keys

    requests = {keys.MEM: Scaled(Memory(4096), Factor.parse("2x"), Memory(10240)),
                keys.TIME: Scaled(Duration.parse("1h"), None, Duration.parse("2h")),
                keys.DISK: Scaled(Memory(100), Factor.parse("3x"), None)}
    for count in range(0, 6):
        attempts = resolver.attempts_of(requests, count)
        assert [a.number for a in attempts] == list(range(1, count + 1))
        for attempt in attempts:
            assert attempt.capped == tuple(key for key, s in requests.items() if s.is_capped(attempt.number))
            assert attempt.values is requests
