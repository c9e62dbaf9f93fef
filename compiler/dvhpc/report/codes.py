"""The diagnostic catalogue: one declaration per code (see `dvhpc.report.rule.Rule`).

This module is long because it is data: every rule's explanation and its failing and passing
example live here, next to each other, so a new code is one entry. Codes are stable: never
renumber, only add. tests/test_rules_registry.py runs every example through `dvhpc lint`.
"""

from __future__ import annotations

import json

from dvhpc.report.rule import Example, Rule, Severity, Stage

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO

_PARTITIONS = """\
slurm:
  partitions:
    cpu: {default: true, max_time: 2d, cpus: 48, mem: 180G, nodes: 10}
    gpu: {max_time: 1d, cpus: 32, mem: 360G, nodes: 4, gpus: {a100: 4}}
"""
_WORKFLOW = """\
localrules: plot

rule prepare:
    output: "data.csv"
    shell: "touch {output}"

rule train_model:
    input: "data.csv"
    output: "model.pt"
    shell: "touch {output}"

rule plot:
    input: "model.pt"
    output: "plot.png"
    shell: "touch {output}"
"""
_WF_RULES = "resources:\n  rules:\n    prepare: {cpus: 2}\n    train_model: {cpus: 4}\n    plot: {cpus: 1}\n"


def _lint(extra: str, rules: str, cluster: str | None = None) -> Example:
    """A spec with the shared partitions, `extra` and `rules` as resources.rules (`cluster`: a snapshot)."""
    return Example(_PARTITIONS + extra + "resources:\n  rules:\n" + rules, cluster=cluster)


def _snapshot(cpu: dict[str, object] | None = None, gpu: dict[str, object] | None = None,
              assoc: dict[str, object] | None = None, **facts: object) -> str:
    """A cluster.json (docs/cluster-json.md) whose partitions are _PARTITIONS', user alice with account lab
    (QOS normal, long and short: MaxWall 1h, MaxJobs 10, MaxSubmit 50); `cpu`, `gpu`, `assoc` and `facts` change it."""
    document: dict[str, object] = {
        "format": "dvhpc-cluster-facts", "version": 2, "accounting": True, "user": "alice",
        "default_account": "lab", "accounts": ["lab"], "cluster_accounts": ["lab", "other"],
        "partitions": [
            {"name": "cpu", "default": True, "max_time_seconds": 172800, "cpus": 48, "mem_mib": 184320, "nodes": 10,
             **(cpu or {})},
            {"name": "gpu", "max_time_seconds": 86400, "cpus": 32, "mem_mib": 368640, "nodes": 4,
             "gpus": {"a100": 4}, **(gpu or {})}],
        "associations": [{"account": "lab", "user": "alice", "qos": ["normal", "short"], "default_qos": "normal",
                          **(assoc or {})}],
        "qos": [{"name": "normal"}, {"name": "short", "limits": {"max_wall_seconds": 3600, "max_jobs": 10,
                                                                  "max_submit": 50}},
                {"name": "long"}],
        **facts,
    }
    return "{\n" + ",\n".join(f" {json.dumps(key)}: {json.dumps(value)}" for key, value in document.items()) + "\n}\n"


_RULES: tuple[Rule, ...] = (
    # ------------------------------------------------------------------ DV0xx: reading files
    Rule("DV001", "file-unreadable", ERROR, Stage.READ, False,
         "file cannot be read (missing, unreadable, not a file)",
         "A spec named on the command line does not exist or cannot be opened. Nothing is checked or "
         "written for it; check the path (relative paths are relative to the current folder).",
         "cannot read 'missing.yaml': it does not exist",
         tested_by="tests/fixtures/validate/missing.expected (a spec that does not exist)"),
    Rule("DV002", "not-text", ERROR, Stage.READ, False,
         "file is not valid text (binary data, NUL bytes, bad encoding)",
         "A spec is UTF-8 text. A file with bytes that are not UTF-8, or with NUL bytes, is binary data or "
         "saved in another encoding; save it as UTF-8. A file name that is not UTF-8 is refused too, "
         "because it is written into the generated files.",
         "file contains a NUL byte (binary data?)",
         Example("description: a\x00b\n"), Example("description: ab\n")),
    Rule("DV003", "syntax-error", ERROR, Stage.READ, False,
         "YAML or TOML syntax error",
         "The file is not valid YAML (or TOML, for a .toml file), so it has no data to check. The "
         "location is where the parser stopped; the mistake is often just before it (an unclosed "
         "bracket or quote, a tab in the indentation, a second document).",
         "YAML syntax error: did not find expected ',' or ']'",
         Example("description: [unclosed\n"), Example("description: [closed]\n")),
    Rule("DV004", "duplicate-key", ERROR, Stage.READ, False,
         "duplicate key in a mapping",
         "A key appears twice in one mapping. YAML readers disagree about which value wins (most keep "
         "the last silently), so dvhpc refuses the file; keep one of them.",
         "duplicate key 'description'",
         Example("description: a\ndescription: b\n"), Example("description: a\n")),
    Rule("DV005", "input-too-large", ERROR, Stage.READ, False,
         "input too large or too deeply nested (size, alias expansion, depth, a number over 100 digits)",
         "A spec is a few kilobytes. A file over 5 MB, anchors and aliases that expand to more than "
         "200000 nodes (an alias bomb), nesting deeper than 64 levels or a number with more than 100 "
         "digits is refused before any later step has to handle it.",
         "number with 101 digits (a spec's numbers have at most 100)",
         Example("snakemake: {jobs: " + "1" * 101 + "}\n"), Example("snakemake: {jobs: 10}\n")),
    Rule("DV006", "unsupported-yaml", ERROR, Stage.READ, False,
         "unsupported YAML feature (non-string key, custom tag, recursive alias)",
         "dvhpc reads plain YAML data: mappings with string keys, lists and scalars. Custom tags "
         "(`!custom`), complex or non-string keys and aliases that contain themselves have no meaning in "
         "a spec and are read differently by different tools, so they are refused.",
         "YAML tag '!custom' is not supported",
         Example("description: !custom text\n"), Example("description: text\n")),
    Rule("DV007", "not-a-spec-file", ERROR, Stage.READ, False,
         "not a regular file, or not a dvhpc spec (FIFO, device, another kind of file)",
         "dvhpc opens only regular files (a FIFO or a device could block or never end), and only reads "
         "files that are dvhpc specs (a mapping with the `dvhpc` key). Another file named in `extends` "
         "is reported without showing any of its content, so a spec cannot make dvhpc print a secret.",
         "'/dev/null' is not a regular file: it is a character device",
         Example("extends: /dev/null\n"), Example("description: no extends\n")),
    Rule("DV008", "ambiguous-line-break", ERROR, Stage.READ, False,
         "line-break character that YAML 1.1 and YAML 1.2 read differently (U+0085, U+2028, U+2029)",
         "dvhpc reads YAML 1.2, Snakemake's PyYAML reads YAML 1.1, and the two disagree about these "
         "characters: to YAML 1.1 they end a line (and a comment), so text after them would become keys "
         "for Snakemake that dvhpc never saw. They are refused anywhere in a spec.",
         "U+0085 (NEXT LINE) is a line break to YAML 1.1 readers such as Snakemake, not to YAML 1.2",
         Example("description: x  # a comment\u0085more: text\n"), Example("description: x  # a comment\n")),
    Rule("DV010", "extends-unreadable", ERROR, Stage.READ, False,
         "`extends` target missing or unreadable",
         "A file named in `extends` cannot be read. Paths in `extends` are relative to the file that "
         "names them.",
         "cannot read 'missing.yaml': it does not exist",
         Example("extends: missing.yaml\n"), Example("description: no extends\n")),
    Rule("DV011", "extends-cycle", ERROR, Stage.READ, False,
         "cycle in `extends`",
         "A file extends itself, directly or through other files, or `extends` is nested too deeply. "
         "Layers form a chain from the most general to the site; remove the entry that closes the loop.",
         "cycle in `extends`: example.yaml -> example.yaml",
         Example("extends: example.yaml\n"), Example("description: no extends\n")),
    # ------------------------------------------------------------------ DV1xx: schema
    Rule("DV100", "wrong-type", ERROR, Stage.SCHEMA, False,
         "wrong type",
         "A value has another type than the key takes (a string where a boolean or a mapping belongs). "
         "docs/spec.md lists every key's type.",
         "slurm.accounting must be true or false, not a string",
         Example("slurm: {accounting: sometimes}\n"), Example("slurm: {accounting: false}\n")),
    Rule("DV101", "missing-key", ERROR, Stage.SCHEMA, False,
         "required key missing",
         "A key the spec needs is not there: `site` in every spec that is not `abstract`, or a key that "
         "its section requires (a container's `image`).",
         "missing required key 'site' in the top level",
         Example("dvhpc: 1\ndescription: no site name\n"), Example("description: demo site\n")),
    Rule("DV102", "unknown-key", ERROR, Stage.SCHEMA, False,
         "unknown key",
         "Every mapping in a spec is closed: a key dvhpc does not know is a typo or a setting that does "
         "nothing, so it is an error rather than silently ignored. The message suggests the closest key.",
         "unknown key 'max_tiem' in slurm.partitions.cpu (did you mean 'max_time'?)",
         Example("slurm:\n  partitions:\n    cpu: {default: true, max_tiem: 2d}\n"),
         Example("slurm:\n  partitions:\n    cpu: {default: true, max_time: 2d}\n")),
    Rule("DV103", "value-not-allowed", ERROR, Stage.SCHEMA, False,
         "value not allowed (enum, pattern, range)",
         "The value has the right type but is not one the key accepts: not in its list of choices, not "
         "matching its format, or out of its range.",
         "slurm.gpu_flag: 'gres-per-node' is not allowed; expected one of gpus, gres, gpus-per-node",
         Example("slurm: {gpu_flag: gres-per-node}\n"), Example("slurm: {gpu_flag: gres}\n")),
    Rule("DV104", "no-accepted-form", ERROR, Stage.SCHEMA, False,
         "value matches none of the accepted forms",
         "The key accepts several forms (an integer or a word, a string or a mapping) and the value is "
         "none of them, or sets two keys that exclude each other (conda and venv).",
         "snakemake.jobs must be an integer or 'unlimited', not a string",
         Example("snakemake: {jobs: lots}\n"), Example("snakemake: {jobs: unlimited}\n")),
    Rule("DV105", "unsupported-version", ERROR, Stage.SCHEMA, False,
         "unsupported spec format version",
         "`dvhpc:` names the spec format version. This dvhpc reads version 1; a spec of another version "
         "needs the dvhpc release that reads it.",
         "unsupported spec format version 2; this dvhpc reads version 1",
         Example("dvhpc: 2\nsite: demo\n"), Example("dvhpc: 1\nsite: demo\n")),
    Rule("DV233", "malformed-slurm-extra", ERROR, Stage.SCHEMA, False,
         "`slurm_extra` item with quotes or spaces (one flag per item, no quoting)",
         "Each `slurm_extra` item is passed to sbatch as one word. Several flags in one item, or quotes "
         "inside it, would reach sbatch as one strange flag; write one flag per list item, without quotes.",
         "resources.rules.train.slurm_extra[0]: '--exclusive --mail-type=END' holds several flags or a space; "
         "write one flag per list item",
         Example("resources:\n  rules:\n    train: {slurm_extra: [\"--exclusive --mail-type=END\"]}\n"),
         Example("resources:\n  rules:\n    train: {slurm_extra: [--exclusive, --mail-type=END]}\n")),
    # ------------------------------------------------------------------ DV2xx: units and references
    Rule("DV201", "invalid-memory", ERROR, Stage.RESOLVE, False,
         "invalid memory size",
         "A memory size is a number with a unit as SLURM reads it: K, M, G, T (binary: 80G is 81920 MiB), "
         "optionally with B or iB.",
         "resources.defaults.mem: unknown memory unit 'Q' in '16Q'",
         Example("resources: {defaults: {mem: 16Q}}\n"), Example("resources: {defaults: {mem: 16G}}\n")),
    Rule("DV202", "invalid-duration", ERROR, Stage.RESOLVE, False,
         "invalid duration",
         "A duration is written as days, hours, minutes and seconds (`1d12h`, `90min`, `30s`) or as "
         "SLURM's `D-HH:MM:SS`.",
         "resources.defaults.time: invalid duration '2 hours'",
         Example("resources: {defaults: {time: 2 hours}}\n"), Example("resources: {defaults: {time: 2h}}\n")),
    Rule("DV203", "invalid-retry-factor", ERROR, Stage.RESOLVE, False,
         "invalid retry factor",
         "A retry factor multiplies a resource on each retry attempt: a number followed by `x` (`2x`, "
         "`1.5x`).",
         "resources.defaults.retry.mem: invalid retry factor 'double'",
         Example("resources: {defaults: {retry: {mem: double}}}\n"),
         Example("resources: {defaults: {retry: {mem: 2x}}}\n")),
    Rule("DV204", "number-without-unit", ERROR, Stage.RESOLVE, False,
         "number without a unit",
         "A bare number is refused where a unit belongs, because a number without a unit is the bug this "
         "tool exists to prevent: Snakemake reads `runtime: 1800` as 30 hours, not 30 minutes.",
         "resources.defaults.mem: memory '16' has no unit",
         Example("resources: {defaults: {mem: 16}}\n"), Example("resources: {defaults: {mem: 16G}}\n")),
    Rule("DV210", "unknown-resource-set", ERROR, Stage.RESOLVE, False,
         "unknown resource set",
         "A rule or set `use`s a resource set that `resources.sets` does not define.",
         "unknown resource set 'gpu_trian' (did you mean 'gpu_train'?)",
         Example("resources:\n  sets: {gpu_train: {cpus: 8}}\n  rules: {train: {use: gpu_trian}}\n"),
         Example("resources:\n  sets: {gpu_train: {cpus: 8}}\n  rules: {train: {use: gpu_train}}\n")),
    Rule("DV211", "unknown-partition", ERROR, Stage.RESOLVE, False,
         "unknown partition",
         "A rule names a partition that `slurm.partitions` does not define; SLURM would refuse the job, "
         "and dvhpc could not check its limits.",
         "unknown partition 'cpus' (did you mean 'cpu'?)",
         _lint("", "    train: {partition: cpus}\n"), _lint("", "    train: {partition: cpu}\n")),
    Rule("DV212", "gpu-type-not-offered", ERROR, Stage.RESOLVE, False,
         "GPU type not offered by the partition",
         "A rule asks for a GPU type its partition does not have (per `slurm.partitions.<name>.gpus`); "
         "SLURM would keep the job pending forever or refuse it.",
         "GPU type 'h100' is not offered by partition 'gpu' (it has: a100)",
         _lint("", "    train: {partition: gpu, gpus: 1, gpu_type: h100}\n"),
         _lint("", "    train: {partition: gpu, gpus: 1, gpu_type: a100}\n")),
    Rule("DV213", "resource-set-cycle", ERROR, Stage.RESOLVE, False,
         "cycle or self-reference in resource sets",
         "Resource sets that `use` each other in a loop have no order to be applied in.",
         "resource set 'a' uses itself (cycle: a -> b -> a)",
         Example("resources:\n  sets: {a: {use: b}, b: {use: a}}\n  rules: {train: {use: a}}\n"),
         Example("resources:\n  sets: {a: {use: b}, b: {cpus: 2}}\n  rules: {train: {use: a}}\n")),
    Rule("DV220", "bad-runtime-variable", ERROR, Stage.RESOLVE, False,
         "bad run-time variable syntax (`${VAR}`, `{name}`)",
         "Paths and environment values may hold `${VAR}` (or `$VAR`), expanded on the cluster, and "
         "`{name}` references to other paths. Any other `$` or brace form (command substitution, "
         "`${VAR:-default}`) would be run by a shell, so it is refused.",
         "environment.conda: '$' at position 1 does not start a variable; write ${NAME} or $NAME "
         "(no command substitution or ${VAR:-...} forms)",
         Example("environment: {conda: \"${HOME/envs/snake\"}\n"),
         Example("environment: {conda: \"${HOME}/envs/snake\"}\n")),
    Rule("DV221", "unknown-path-reference", ERROR, Stage.RESOLVE, False,
         "unknown `{name}` reference in a path",
         "A path refers to another path by `{name}`, and no path has that name.",
         "paths.models: unknown path '{dta}' (did you mean '{data}'?)",
         Example("paths:\n  data: /scratch/data\n  models: \"{dta}/models\"\n"),
         Example("paths:\n  data: /scratch/data\n  models: \"{data}/models\"\n")),
    Rule("DV222", "path-reference-cycle", ERROR, Stage.RESOLVE, False,
         "cycle in path references",
         "Paths that refer to each other in a loop have no value.",
         "paths refer to each other in a cycle: a -> b -> a",
         Example("paths:\n  a: \"{b}/x\"\n  b: \"{a}/y\"\n"), Example("paths:\n  a: \"{b}/x\"\n  b: /scratch/y\n")),
    Rule("DV230", "several-default-partitions", ERROR, Stage.RESOLVE, False,
         "more than one default partition",
         "At most one partition is the default (where rules without a partition go).",
         "partitions 'cpu' and 'gpu' are both marked default",
         Example("slurm:\n  partitions: {cpu: {default: true}, gpu: {default: true}}\n"),
         Example("slurm:\n  partitions: {cpu: {default: true}, gpu: {}}\n")),
    Rule("DV231", "refused-variable", ERROR, Stage.RESOLVE, False,
         "environment variable a spec may not set (it would make shells run code)",
         "A spec arrives through pull requests, so it may only set ordinary workflow variables. A "
         "variable that makes a later program run or load code (BASH_ENV, LD_PRELOAD, PATH, "
         "PYTHONPATH, ...) or a Snakemake option whose value is run as a command is refused; "
         "`environment.allow_unsafe_variables` lets a reviewed spec set one of the variables (DV235).",
         "environment.variables.BASH_ENV is refused: the generated scripts use it themselves or it changes how "
         "bash runs them",
         Example("environment:\n  variables: {BASH_ENV: /tmp/hook.sh}\n"),
         Example("environment:\n  variables: {WANDB_DIR: /tmp/wandb}\n")),
    Rule("DV232", "managed-slurm-flag", ERROR, Stage.RESOLVE, False,
         "`slurm_extra` flag that the SLURM executor plugin manages itself",
         "The SLURM executor plugin writes some sbatch flags itself (memory, time, partition, account, "
         "job name, ...). The same flag in `slurm_extra` makes the job refused or ambiguous; set the "
         "spec key instead.",
         "slurm_extra flag '--mem' is set by the SLURM executor plugin itself; the job would be refused",
         Example("resources:\n  rules: {train: {slurm_extra: [--mem=4G]}}\n"),
         Example("resources:\n  rules: {train: {slurm_extra: [--exclusive]}}\n")),
    Rule("DV234", "unsafe-argument", ERROR, Stage.RESOLVE, False,
         "value that cannot reach a shell or command line safely (character class, leading '-')",
         "Spec values reach shell scripts and command lines as quoted data, but a value that begins with "
         "`-` would be read as an option by the program it is given to, and some places accept only a "
         "narrow set of characters.",
         "environment.container.image: '--contain' begins with '-': apptainer exec would read it as an option",
         Example("environment:\n  container: {image: --contain}\n"),
         Example("environment:\n  container: {image: /images/tools.sif}\n")),
    Rule("DV235", "unsafe-variable-allowed", WARNING, Stage.RESOLVE, True,
         "environment variable outside the safe set, allowed by `allow_unsafe_variables`",
         "The spec sets a variable that can make programs run other code, and allows it explicitly in "
         "`environment.allow_unsafe_variables`. It compiles; the warning keeps the decision visible in "
         "every review.",
         "environment.variables.PYTHONPATH is outside the safe set but allowed by "
         "environment.allow_unsafe_variables: python reads it at start-up and can be made to run or import "
         "other code",
         Example("environment:\n  variables: {PYTHONPATH: /opt/lib}\n  allow_unsafe_variables: [PYTHONPATH]\n"),
         Example("environment:\n  variables: {WANDB_DIR: /tmp/wandb}\n")),
    # ------------------------------------------------------------------ DV3xx: lint
    Rule("DV301", "time-exceeds-partition", ERROR, Stage.CHECK, True,
         "time exceeds the partition's max_time",
         "A rule asks for more time than its partition's MaxTime: SLURM refuses the job at submission. "
         "Shorten it or use a partition with a longer limit.",
         "rule 'prepare': time 4320 min (3d) exceeds partition 'cpu' max_time 2880 min (2d)",
         _lint("", "    prepare: {time: 3d}\n"), _lint("", "    prepare: {time: 2d}\n")),
    Rule("DV302", "memory-exceeds-partition", ERROR, Stage.CHECK, True,
         "memory exceeds the partition's node memory",
         "A rule asks for more memory than one node of its partition has (also as mem_per_cpu times "
         "CPUs): the job can never start.",
         "rule 'big': mem 204800 MiB (200G) exceeds partition 'cpu' node memory 184320 MiB (180G)",
         _lint("", "    big: {mem: 200G}\n"), _lint("", "    big: {mem: 180G}\n")),
    Rule("DV303", "cpus-exceed-partition", ERROR, Stage.CHECK, True,
         "CPUs exceed the partition's CPUs per node",
         "A rule asks for more CPUs (cpus times tasks per node) than one node of its partition has: the "
         "job can never start.",
         "rule 'many': cpus 64 exceeds partition 'cpu' CPUs per node 48",
         _lint("", "    many: {cpus: 64}\n"), _lint("", "    many: {cpus: 48}\n")),
    Rule("DV304", "gpus-exceed-partition", ERROR, Stage.CHECK, True,
         "GPUs exceed the partition's GPUs per node",
         "A rule asks for more GPUs than one node of its partition has: the job can never start.",
         "rule 'train': gpus 8 exceeds the 4 GPUs per node of partition 'gpu'",
         _lint("", "    train: {partition: gpu, gpus: 8}\n"), _lint("", "    train: {partition: gpu, gpus: 4}\n")),
    Rule("DV305", "gpus-on-cpu-partition", ERROR, Stage.CHECK, True,
         "GPUs requested on a partition without GPUs",
         "A rule asks for GPUs on a partition that lists none: SLURM refuses the job or it never starts.",
         "rule 'train': asks for 1 GPU(s) but partition 'cpu' has no GPUs",
         _lint("", "    train: {partition: cpu, gpus: 1}\n"), _lint("", "    train: {partition: gpu, gpus: 1}\n")),
    Rule("DV306", "gpu-type-without-gpus", WARNING, Stage.LINT, True,
         "gpu_type without gpus",
         "A GPU type alone requests no GPU; the rule runs without one. Add `gpus`, or drop the type.",
         "rule 'train': gpu_type 'a100' without gpus requests no GPU",
         _lint("", "    train: {partition: gpu, gpu_type: a100}\n"),
         _lint("", "    train: {partition: gpu, gpus: 1, gpu_type: a100}\n")),
    Rule("DV307", "nodes-exceed-partition", ERROR, Stage.CHECK, True,
         "nodes exceed the partition's node count",
         "A rule asks for more nodes than its partition has: the job can never start.",
         "rule 'wide': nodes 20 exceeds the 10 nodes of partition 'cpu'",
         _lint("", "    wide: {nodes: 20}\n"), _lint("", "    wide: {nodes: 10}\n")),
    Rule("DV310", "retry-capped", WARNING, Stage.LINT, True,
         "retry scaling capped by a partition limit",
         "A retry factor would grow a resource past its partition's limit; dvhpc caps it there so a "
         "retry is never refused, so later attempts get no more than the limit. The message lists every "
         "attempt's value.",
         "rule 'grow': retry mem 2x is capped by partition 'cpu' at attempt 3: 102400 -> 184320 -> 184320 MiB",
         _lint("snakemake: {restart_times: 2}\n", "    grow: {mem: 100G, retry: {mem: 2x}}\n"),
         _lint("snakemake: {restart_times: 2}\n", "    grow: {mem: 40G, retry: {mem: 2x}}\n")),
    Rule("DV320", "leftover-placeholder", ERROR, Stage.CHECK, True,
         "leftover placeholder (<YOUR_...>, TODO, CHANGEME, FIXME)",
         "A value still holds a placeholder from a template or `dvhpc init`; fill in the real value.",
         "leftover placeholder 'CHANGEME' in slurm.account",
         Example("slurm: {account: CHANGEME}\n"), Example("slurm: {account: mylab}\n")),
    Rule("DV321", "missing-account", WARNING, Stage.LINT, True,
         "no account while accounting is on",
         "With SLURM accounting on, a job without an account lands on the user's default account (the "
         "executor plugin's guess does not work). Set `slurm.account`, or `accounting: false` on a "
         "cluster without accounting.",
         "no slurm.account while accounting is on: jobs without an account land on the default account "
         "(the executor plugin's account guess does not work)",
         Example("slurm: {accounting: true}\n"), Example("slurm: {accounting: true, account: mylab}\n")),
    Rule("DV330", "unused-resource-set", WARNING, Stage.LINT, True,
         "resource set defined but never used",
         "No rule or set uses this resource set: a leftover, or a rule that was meant to use it.",
         "resource set 'spare' is defined but no rule uses it",
         Example("resources:\n  sets: {spare: {cpus: 1}}\n  rules: {train: {cpus: 2}}\n"),
         Example("resources:\n  sets: {spare: {cpus: 1}}\n  rules: {train: {use: spare}}\n")),
    Rule("DV331", "datasets-without-root", WARNING, Stage.LINT, True,
         "datasets without a root path",
         "Datasets are mounted but `datasets.root` is not set: a dataset that is not mounted (and every "
         "dataset off the cluster) has no path.",
         "datasets are mounted but datasets.root is not set: a dataset that is not mounted "
         "(and every dataset off the cluster) has no path",
         Example("datasets:\n  mounted: {imagenet: /imagenet}\n"),
         Example("datasets:\n  root: /datasets\n  mounted: {imagenet: /imagenet}\n")),
    Rule("DV332", "relative-cluster-path", WARNING, Stage.LINT, True,
         "path relative on the cluster",
         "A relative path on the cluster depends on the folder a job starts in, which differs between "
         "the submit host and the compute nodes.",
         "path 'rel' is relative on the cluster ('data/x'): it depends on the folder jobs start in",
         Example("paths: {rel: data/x}\n"), Example("paths: {rel: /scratch/data/x}\n")),
    Rule("DV333", "detect-never-matches", WARNING, Stage.LINT, True,
         "detect can never match",
         "`detect` decides when generated code knows it runs on this cluster (`on_cluster()`). Without "
         "entries it is never true, unless DVHPC_ON_CLUSTER=1 is set.",
         "detect has no entries: on_cluster() is never true (unless DVHPC_ON_CLUSTER=1)",
         Example("description: no detect\n"), Example("detect:\n  env: {SLURM_CLUSTER_NAME: demo}\n")),
    Rule("DV340", "unknown-snakemake-option", ERROR, Stage.RESOLVE, False,
         "not a Snakemake option, or only an abbreviation of one",
         "`snakemake.options` are written into the profile as Snakemake's long option names. A name "
         "Snakemake does not know makes it refuse the profile; an abbreviation is silently read as the "
         "option it abbreviates, which breaks when a new option shares the prefix. Write the full name.",
         "snakemake option 'rerun-trigger' is not an option name but an abbreviation of 'rerun-triggers': "
         "Snakemake would silently read it as --rerun-triggers; write 'rerun-triggers'",
         Example("snakemake:\n  options: {rerun-trigger: [mtime]}\n"),
         Example("snakemake:\n  options: {rerun-triggers: [mtime]}\n")),
    Rule("DV341", "option-written-by-dvhpc", ERROR, Stage.RESOLVE, False,
         "Snakemake option that dvhpc writes from another spec key",
         "dvhpc writes some Snakemake options from spec keys (jobs, executor, default resources ...); the "
         "same option in `snakemake.options` would conflict with it. Set the spec key instead.",
         "snakemake option 'jobs' is written by dvhpc from snakemake.jobs",
         Example("snakemake:\n  options: {jobs: 10}\n"), Example("snakemake:\n  jobs: 10\n")),
    Rule("DV342", "option-of-other-executor", ERROR, Stage.RESOLVE, False,
         "Snakemake option of an executor plugin the site does not use",
         "An option of the slurm or cluster-generic executor plugin on a site that uses the other one: "
         "Snakemake refuses options of plugins that are not in use.",
         "snakemake option 'cluster-generic-cancel-nargs' belongs to the cluster-generic executor plugin, "
         "but this site uses executor 'slurm'",
         Example("snakemake:\n  executor: slurm\n  options: {cluster-generic-cancel-nargs: 20}\n"),
         Example("snakemake:\n  executor: cluster-generic\n  options: {cluster-generic-cancel-nargs: 20}\n")),
    Rule("DV343", "bad-option-value", ERROR, Stage.RESOLVE, False,
         "Snakemake option value that Snakemake would refuse or read as another option",
         "Option values are checked the way Snakemake's argparse reads them: the choices, types and flags "
         "of each option, and no value that begins with `-` (it would be read as another option, such as "
         "`--executor`).",
         "snakemake.options.rerun-triggers[1]: '--executor=local' begins with '-': Snakemake would "
         "read it as an option (as a separate word of Snakemake's command line), not as a value",
         Example("snakemake:\n  options: {rerun-triggers: [mtime, --executor=local]}\n"),
         Example("snakemake:\n  options: {rerun-triggers: [mtime]}\n")),
    Rule("DV350", "rule-not-in-workflow", ERROR, Stage.WORKFLOW, True,
         "spec rule not in the workflow",
         "The spec gives resources to a rule the workflow (`--workflow`) does not have: a typo, or a "
         "rule that was renamed; its resources would never be used.",
         "rule 'train_modle' is not in the workflow Snakefile (did you mean 'train_model'?)",
         Example(_WF_RULES.replace("train_model:", "train_modle:"), _WORKFLOW), Example(_WF_RULES, _WORKFLOW)),
    Rule("DV351", "workflow-rule-without-entry", INFO, Stage.WORKFLOW, True,
         "workflow rule without an entry (gets the defaults)",
         "A rule of the workflow has no entry in `resources.rules`, so it runs with "
         "`resources.defaults`. Often intended; listed so nothing is left to chance.",
         "workflow rule 'train_model' has no entry: it gets resources.defaults",
         Example(_WF_RULES.replace("    train_model: {cpus: 4}\n", ""), _WORKFLOW), Example(_WF_RULES, _WORKFLOW)),
    Rule("DV352", "gpus-on-local-rule", WARNING, Stage.WORKFLOW, True,
         "GPU resources on a local rule",
         "A local rule (`localrules:` or `localrule: True`) runs on the submit host, not in a SLURM job, "
         "so its GPU request gets no GPU.",
         "rule 'plot' is a local rule (runs on the submit host) but asks for GPUs",
         Example(_PARTITIONS + _WF_RULES.replace("plot: {cpus: 1}", "plot: {partition: gpu, gpus: 1}"), _WORKFLOW),
         Example(_PARTITIONS + _WF_RULES, _WORKFLOW)),
    Rule("DV353", "workflow-unreadable", ERROR, Stage.WORKFLOW, True,
         "the workflow cannot be read",
         "The Snakefile given with `--workflow` (or a file it includes) cannot be read or parsed, so the "
         "spec cannot be compared with it.",
         "cannot read the workflow: cannot read missing.smk: file not found",
         Example(_WF_RULES, "include: \"missing.smk\"\n" + _WORKFLOW), Example(_WF_RULES, _WORKFLOW)),
    Rule("DV354", "workflow-not-followed", WARNING, Stage.WORKFLOW, True,
         "workflow part the static reader cannot follow (use --workflow-exec to run Snakemake's parser)",
         "`--workflow` reads the Snakefile as text and never runs it. What only running the code could "
         "tell (an include of a computed name, f-strings, rules made in loops) is reported here; "
         "`--workflow-exec` uses Snakemake's own parser, which runs the workflow's code.",
         "include: config[\"extra\"] is not a plain string, so the static reader cannot tell which file it "
         "includes (--workflow-exec would run Snakemake's parser, which executes the workflow's code)",
         Example(_WF_RULES, "include: config[\"extra\"]\n" + _WORKFLOW), Example(_WF_RULES, _WORKFLOW)),
    Rule("DV355", "resources-on-local-rule", WARNING, Stage.WORKFLOW, True,
         "SLURM resources on a local rule (never requested)",
         "A local rule (`localrules:` or `localrule: True`) runs in Snakemake's own process on the submit "
         "host, never as a SLURM job, so what its entry (or a set it uses) asks SLURM for (cpus, mem, time, "
         "partition, account, ...) is never requested. `disk` is not counted: Snakemake also limits local "
         "jobs by it. GPUs on a local rule are DV352.",
         "rule 'plot' is a local rule (it runs on the submit host, never as a SLURM job): its entry's SLURM "
         "requests (cpus) are never made",
         Example(_WF_RULES, _WORKFLOW), Example(_WF_RULES.replace("    plot: {cpus: 1}\n", ""), _WORKFLOW)),
    Rule("DV356", "request-above-global-limit", WARNING, Stage.LINT, True,
         "rule request above a workflow-wide limit of snakemake.resources (Snakemake lowers it)",
         "Snakemake constrains every job's resources by the global limits of the same name "
         "(`snakemake.resources`, i.e. `--resources`): a rule that asks for more is scheduled, and sent to "
         "SLURM, with the limit instead, silently. `resources.yaml` shows what the spec asks for, so the two "
         "would disagree. Ask for at most the limit, or raise the limit.",
         "rule 'prepare' asks for disk_mb 409600 MiB, above the workflow-wide limit snakemake.resources.disk "
         "(300000 MiB): Snakemake lowers the request to 300000 MiB",
         Example("snakemake:\n  resources: {disk: 300000M}\nresources:\n  rules:\n    prepare: {disk: 400G}\n"),
         Example("snakemake:\n  resources: {disk: 300000M}\nresources:\n  rules:\n    prepare: {disk: 200G}\n")),
    Rule("DV360", "script-fails-shellcheck", ERROR, Stage.SHELLCHECK, False,
         "generated script fails shellcheck",
         "A script dvhpc generates for the spec fails shellcheck. Spec values reach scripts as quoted "
         "data only, so this is a dvhpc bug; please report it with the spec.",
         "SC2086: Double quote to prevent globbing and word splitting.",
         tested_by="tests/test_lint.py::test_dv360_when_a_generated_script_fails_shellcheck"),
    Rule("DV361", "shellcheck-missing", INFO, Stage.SHELLCHECK, False,
         "shellcheck not available; generated scripts not checked",
         "`dvhpc lint` checks the generated scripts with shellcheck when it is installed; without it "
         "they are not checked. Install shellcheck, or pass --no-shellcheck.",
         "shellcheck is not installed: generated scripts were not checked",
         tested_by="tests/test_lint.py::test_dv361_when_shellcheck_is_missing"),
    # ------------------------------------------------------------------ DV37x: Snakemake versions
    Rule("DV370", "snakemake-range-below-matrix", ERROR, Stage.RESOLVE, False,
         "the declared Snakemake range reaches versions where no profile form is verified",
         "`environment.require.snakemake` names the Snakemake versions the site runs with; the profile "
         "is written in forms every version of dvhpc's version matrix reads the same (README, "
         "\"Verified versions\"). Older versions read some of them differently (8.x keeps a quoted "
         "string's quotes in set-resources, 7.x has no expressions there), so a range that reaches "
         "below the matrix is refused: the profile could mean something else there.",
         "environment.require.snakemake '>=8' admits Snakemake versions older than 9.1.5, where no "
         "profile form is verified: Snakemake 8.x keeps a quoted string's quotes in set-resources and reads "
         "profiles as config.v8+.yaml; 7.x has no expressions in set-resources and reads only config.yaml",
         Example("environment:\n  require: {snakemake: '>=8'}\n"),
         Example("environment:\n  require: {snakemake: '>=9.1.5'}\n")),
    Rule("DV371", "snakemake-range-unverified", WARNING, Stage.RESOLVE, True,
         "the declared Snakemake range admits no version of the matrix",
         "The profile's forms are verified on the versions of dvhpc's version matrix; a range between or "
         "above them (`==9.18`, `>=10`) admits none of them, so nothing proves the profile there.",
         "environment.require.snakemake '==9.18' admits no version of dvhpc's version matrix (9.1.5, 9.16.3, "
         "9.27.1): the profile's forms are verified only on those",
         Example("environment:\n  require: {snakemake: '==9.18'}\n"),
         Example("environment:\n  require: {snakemake: '~=9.16.3'}\n")),
    # ------------------------------------------------------------------ DV38x: how run.sh runs Snakemake
    Rule("DV380", "run-logs-in-slurm-logdir", ERROR, Stage.RESOLVE, False,
         "run.sh's log folder is inside the slurm plugin's log folder",
         "The slurm executor plugin deletes every `*.log` under `snakemake.logdir` (`--slurm-logdir`, "
         "recursively) that is older than `delete_logs_older_than` (10 days unless set). `run.sh`'s own "
         "logs (`snakemake.run_logdir`) there would be deleted with the job logs, so they go to a folder "
         "of their own. Compile refuses what it can see from the text; `run.sh` checks the real folders "
         "again before it starts Snakemake.",
         "snakemake.run_logdir 'logs/slurm/runs' is inside snakemake.logdir 'logs/slurm', where the slurm "
         "plugin deletes every *.log older than delete_logs_older_than (default 10 days): run.sh's logs "
         "would be deleted",
         Example("snakemake:\n  logdir: logs/slurm\n  run_logdir: logs/slurm/runs\n"),
         Example("snakemake:\n  logdir: logs/slurm\n  run_logdir: logs/runs\n")),
    # ------------------------------------------------------------------ DV4xx: compile and write
    Rule("DV401", "hand-edited-output", ERROR, Stage.WRITE, False,
         "generated file was edited by hand (use --force to overwrite)",
         "A generated file differs from what MANIFEST.json recorded at the last compile: someone edited "
         "it. Compile does not overwrite the edit; move the change into the spec, or pass --force.",
         "generated/example/profile/config.yaml was edited by hand since the last compile; not overwritten",
         tested_by="tests/test_compile.py (hand-edit protection)"),
    Rule("DV402", "output-not-writable", ERROR, Stage.WRITE, False,
         "output folder cannot be written",
         "The output folder cannot be created or written, or two specs name the same site and would "
         "write the same folder.",
         "cannot write generated/example: Permission denied",
         tested_by="tests/test_compile.py (unwritable output, duplicate site names)"),
    Rule("DV403", "broken-generated-folder", ERROR, Stage.WRITE, False,
         "generated folder is broken or unreadable (compile --check, diff)",
         "`compile --check` and `diff` read a generated folder's files listed in its MANIFEST.json; a "
         "file that is missing, not dvhpc's YAML or of another shape is reported at its place.",
         "rules is a list; dvhpc writes a mapping",
         tested_by="tests/test_diff.py, tests/test_hostile_files_fuzz.py (broken generated folders)"),
    # ------------------------------------------------------------------ DV5xx: import
    Rule("DV501", "import-unmapped", ERROR, Stage.IMPORT, False,
         "import: a profile value could not be mapped",
         "`dvhpc import` found a value in the hand-written profile that it cannot express in a spec; it "
         "is left out, so review the profile by hand.",
         "runtime 'max(1, 2)' cannot be read as a duration; not imported",
         tested_by="tests/test_import.py"),
    Rule("DV502", "import-review", WARNING, Stage.IMPORT, False,
         "import: a decision to review (comment disagrees, placeholder, approximation)",
         "`dvhpc import` made a decision a person should check: a comment that disagrees with the value, "
         "a placeholder, an approximation.",
         "comment says 30min, value means 1d6h (Snakemake reads runtime: 1800 as minutes); kept 1d6h",
         tested_by="tests/test_import.py"),
    Rule("DV503", "import-change", INFO, Stage.IMPORT, False,
         "import: what was changed and why",
         "`dvhpc import` says what it changed while turning the profile into a spec (a value lifted into "
         "a shared key, a unit written out).",
         "account 'lab42' was repeated in every rule; lifted into slurm.account",
         tested_by="tests/test_import.py"),
    # ------------------------------------------------------------------ DV6xx: the spec against the cluster
    Rule("DV600", "partition-not-on-cluster", ERROR, Stage.CLUSTER, True,
         "a partition the spec declares is not on the cluster",
         "`lint --cluster` found no partition of this name on the cluster (or in its snapshot): every job "
         "sent there is refused by sbatch (`Invalid partition name specified`). Rename it to one the cluster "
         "has, or remove it.",
         "partition 'bigmem' is not on the cluster (its partitions: cpu, gpu)",
         Example(_PARTITIONS + "    bigmem: {max_time: 1d, cpus: 64, mem: 1T, nodes: 2}\n", cluster=_snapshot()),
         Example(_PARTITIONS, cluster=_snapshot())),
    Rule("DV601", "partition-limit-drift", ERROR, Stage.CLUSTER, True,
         "a partition limit in the spec is larger than the cluster's (drift)",
         "The spec's partition allows more than the cluster does (max_time, cpus, mem, nodes, GPUs per type), "
         "or marks another partition as the default. Every check and every retry cap dvhpc derives from the "
         "spec's limit is then wrong, and SLURM refuses what the spec lets through. Write the cluster's value.",
         "partition 'cpu': max_time 2d in the spec, 1d on the cluster",
         Example(_PARTITIONS, cluster=_snapshot(cpu={"max_time_seconds": 86400})),
         Example(_PARTITIONS, cluster=_snapshot())),
    Rule("DV602", "partition-limit-below-cluster", WARNING, Stage.CLUSTER, True,
         "a partition limit in the spec is smaller than the cluster's (drift)",
         "The spec's partition allows less than the cluster does: nothing is refused, but dvhpc caps retries "
         "and refuses requests the cluster would grant. Write the cluster's value, or silence this when the "
         "lower limit is deliberate.",
         "partition 'cpu': max_time 2d in the spec, 3d on the cluster",
         Example(_PARTITIONS, cluster=_snapshot(cpu={"max_time_seconds": 3 * 86400})),
         Example(_PARTITIONS, cluster=_snapshot())),
    Rule("DV603", "request-exceeds-cluster-partition", ERROR, Stage.CLUSTER, True,
         "a rule asks for more than the cluster's partition grants, at some retry attempt",
         "A rule's time, memory, CPUs, GPUs or nodes, at some retry attempt, exceed the limit of the partition "
         "on the cluster where the spec's own partition limits did not catch it (a limit not written, or a "
         "larger one): sbatch refuses the job.",
         "rule 'prepare': time 3d exceeds the cluster's partition 'cpu' (2d)",
         Example("slurm:\n  partitions:\n    cpu: {default: true, cpus: 48, mem: 180G, nodes: 10}\n"
                 "resources:\n  rules:\n    prepare: {time: 3d}\n", cluster=_snapshot()),
         Example("slurm:\n  partitions:\n    cpu: {default: true, cpus: 48, mem: 180G, nodes: 10}\n"
                 "resources:\n  rules:\n    prepare: {time: 2d}\n", cluster=_snapshot())),
    Rule("DV604", "gpu-type-not-on-cluster", ERROR, Stage.CLUSTER, True,
         "a rule's GPU type is not on the cluster's partition",
         "The rule asks for a GPU type that no node of its partition has on the cluster: the job can never "
         "start. Use one of the partition's GPU types.",
         "rule 'train': GPU type 'a100' is not on the cluster's partition 'gpu' (its GPUs: h100: 4)",
         Example(_PARTITIONS + "resources:\n  rules:\n    train: {partition: gpu, gpus: 1, gpu_type: a100}\n",
                 cluster=_snapshot(gpu={"gpus": {"h100": 4}})),
         Example(_PARTITIONS + "resources:\n  rules:\n    train: {partition: gpu, gpus: 1, gpu_type: a100}\n",
                 cluster=_snapshot())),
    Rule("DV610", "account-not-on-cluster", ERROR, Stage.CLUSTER, True,
         "a rule's account does not exist on the cluster",
         "The account (the rule's, `slurm.account`, or the user's default) is not an account of the cluster: "
         "sbatch refuses the job (`Invalid account or account/partition combination specified`).",
         "rule 'prepare': account 'nolab' does not exist on the cluster (the accounts of alice: lab)",
         _lint("  account: nolab\n", "    prepare: {time: 1h}\n", _snapshot()),
         _lint("  account: lab\n", "    prepare: {time: 1h}\n", _snapshot())),
    Rule("DV611", "account-not-associated", ERROR, Stage.CLUSTER, True,
         "the user has no association with a rule's account",
         "The account exists, but the user who runs the workflow is not associated with it: sbatch refuses the "
         "job. Use one of the user's accounts, or ask the cluster's admins for an association.",
         "rule 'prepare': alice has no association with account 'other' (the accounts of alice: lab)",
         _lint("  account: other\n", "    prepare: {time: 1h}\n", _snapshot()),
         _lint("  account: lab\n", "    prepare: {time: 1h}\n", _snapshot())),
    Rule("DV612", "account-partition-denied", ERROR, Stage.CLUSTER, True,
         "a rule's account may not use its partition",
         "The user's associations with the account are limited to other partitions, or the partition's "
         "AllowAccounts/DenyAccounts exclude the account: sbatch refuses the job.",
         "rule 'train': account 'lab' may not use partition 'gpu' (alice's associations with it are for "
         "partition cpu)",
         _lint("  account: lab\n", "    train: {partition: gpu, time: 1h}\n", _snapshot(assoc={"partition": "cpu"})),
         _lint("  account: lab\n", "    train: {partition: cpu, time: 1h}\n", _snapshot(assoc={"partition": "cpu"}))),
    Rule("DV613", "qos-not-on-cluster", ERROR, Stage.CLUSTER, True,
         "a rule's QOS does not exist on the cluster",
         "The rule asks for a quality of service the cluster does not define: sbatch refuses the job "
         "(`Invalid qos specification`).",
         "rule 'prepare': QOS 'fast' does not exist on the cluster (its QOS: normal, short, long)",
         _lint("  account: lab\n", "    prepare: {time: 1h, qos: fast}\n", _snapshot()),
         _lint("  account: lab\n", "    prepare: {time: 1h, qos: short}\n", _snapshot())),
    Rule("DV614", "qos-not-allowed", ERROR, Stage.CLUSTER, True,
         "a rule's QOS is not allowed for its account or partition",
         "The QOS exists but the user's association with the account does not list it, or the partition's "
         "AllowQos/DenyQos exclude it: sbatch refuses the job.",
         "rule 'prepare': QOS 'long' is not allowed for account 'lab' (it allows normal, short)",
         _lint("  account: lab\n", "    prepare: {time: 1h, qos: long}\n", _snapshot()),
         _lint("  account: lab\n", "    prepare: {time: 1h, qos: short}\n", _snapshot())),
    Rule("DV615", "qos-limit-exceeded", ERROR, Stage.CLUSTER, True,
         "a rule exceeds a QOS or association limit per job, at some retry attempt",
         "The job's time (MaxWall) or its total CPUs, memory, GPUs or nodes (MaxTRESPerJob), at some retry "
         "attempt, exceed a limit of its QOS, of the partition's QOS or of the user's association: the job is "
         "refused (QOS flag DenyOnLimit) or waits forever. Ask for less or use another QOS.",
         "rule 'prepare': time 2h exceeds QOS 'short' MaxWall 1h",
         _lint("  account: lab\n", "    prepare: {time: 2h, qos: short}\n", _snapshot()),
         _lint("  account: lab\n", "    prepare: {time: 1h, qos: short}\n", _snapshot())),
    Rule("DV616", "submit-limit-exceeded", ERROR, Stage.CLUSTER, True,
         "snakemake.jobs exceeds a QOS or association MaxSubmit",
         "Snakemake keeps up to `jobs` jobs submitted; the QOS (MaxSubmitJobsPerUser) or association "
         "(MaxSubmitJobs) refuses submissions past its limit, and the run fails. Set jobs to at most the limit.",
         "snakemake.jobs 100 exceeds QOS 'short' MaxSubmit 50",
         _lint("  account: lab\nsnakemake: {jobs: 100}\n", "    prepare: {time: 1h, qos: short}\n", _snapshot()),
         _lint("  account: lab\nsnakemake: {jobs: 50}\n", "    prepare: {time: 1h, qos: short}\n", _snapshot())),
    Rule("DV617", "running-jobs-limit", WARNING, Stage.CLUSTER, True,
         "snakemake.jobs exceeds a QOS or association MaxJobs",
         "Only MaxJobs jobs of the user run at once under this QOS or association; the others wait in the "
         "queue. Nothing fails, but `jobs` above the limit buys nothing.",
         "snakemake.jobs 20 exceeds QOS 'short' MaxJobs 10",
         _lint("  account: lab\nsnakemake: {jobs: 20}\n", "    prepare: {time: 1h, qos: short}\n", _snapshot()),
         _lint("  account: lab\nsnakemake: {jobs: 10}\n", "    prepare: {time: 1h, qos: short}\n", _snapshot())),
    Rule("DV620", "cluster-checks-skipped", INFO, Stage.CLUSTER, True,
         "account and QOS checks were skipped: no accounting details",
         "The cluster (or its snapshot) has no accounting details: sacctmgr is missing or failed, or "
         "accounting is off. The account and QOS checks did not run, so they did not pass either; run "
         "`lint --cluster` (or `dvhpc snapshot`) where sacctmgr works.",
         "account and QOS checks skipped: accounting is off on this cluster (sacct does not work)",
         _lint("", "    prepare: {time: 1h}\n", _snapshot(
             associations=None, qos=None, accounting=False,
             accounting_skipped="accounting is off on this cluster (sacct does not work)")),
         _lint("", "    prepare: {time: 1h}\n", _snapshot())),
    # ------------------------------------------------------------------ DV7xx: tune
    Rule("DV700", "tune-input-row-skipped", WARNING, Stage.TUNE, False,
         "tune: a row of an accounting export, efficiency report or benchmark file was skipped",
         "`dvhpc tune` reads `sacct --parsable2` exports, the slurm plugin's efficiency report and "
         "Snakemake benchmark files; a row it cannot read (too few fields, a value that is not a time or "
         "a size) is skipped, so the proposals rest on the other rows.",
         "job 4711: not a memory size: '12Q'",
         tested_by="tests/test_tune.py::test_malformed_rows_are_dv700_at_their_line"),
    Rule("DV701", "tune-input-unknown", ERROR, Stage.TUNE, False,
         "tune: an input is none of the forms tune reads",
         "`--from` takes a `sacct --parsable2` export with its header line, the slurm plugin's efficiency "
         "report (CSV) or a folder of Snakemake benchmark files (TSV); anything else is refused.",
         "not a `sacct --parsable2` export with its header, a slurm plugin efficiency report (CSV) or a "
         "Snakemake benchmark file (TSV)",
         tested_by="tests/test_tune.py::test_unknown_input_is_dv701"),
    Rule("DV702", "tune-write-refused", ERROR, Stage.TUNE, False,
         "tune --write: the edited spec would not validate or not mean the proposal; nothing written",
         "`--write` edits each value where it comes from and checks the result before it replaces the "
         "file; when the edited spec is invalid or resolves to other values, the file stays as it was.",
         "after the edit rule train would have mem 4G, not 6G; nothing written",
         tested_by="tests/test_tune_write.py::test_write_refuses_an_edit_that_does_not_mean_the_proposal"),
    Rule("DV703", "tune-write-by-hand", WARNING, Stage.TUNE, False,
         "tune --write: a proposal that must be written by hand",
         "A proposed value whose rule has no entry in this spec (its value comes from a file it extends or "
         "from the engine's default), or a TOML spec that needs a new key, is not written; the message "
         "says what to add.",
         "plot: add `mem: 2G` to its entry by hand (the rule has no entry in this spec; the value comes "
         "from defaults)",
         tested_by="tests/test_tune_write.py::test_rule_without_entry_is_dv703"),
)

RULES: dict[str, Rule] = {rule.code: rule for rule in sorted(_RULES, key=lambda rule: rule.code)}
BY_NAME: dict[str, Rule] = {rule.name: rule for rule in _RULES}
