"""Imports flow one way: data → embeddings → layers → models → decoding → artifact → tasks → training → evaluation →
export → serving → inference → cli. The leaves (config, runtime, cotenancy, metrics, options, search, textstream,
cancel, manifest, onnx_graph) import no other part of seqlab but each other; no module-level import circle exists, across
packages or inside one."""

import ast
import re
from pathlib import Path

import seqlab

ORDER = ["data", "embeddings", "layers", "models", "decoding", "artifact", "tasks", "training", "evaluation", "export", "serving", "inference", "cli"]
LEAVES = {"config", "runtime", "cotenancy", "metrics", "options", "search", "textstream", "cancel", "manifest", "onnx_graph",
          "__init__"}
ROOT = Path(seqlab.__file__).parent


def layer_of(module: str) -> str:
    return module.split(".")[0]


def imported_seqlab_modules(rel: Path, source: str) -> set[str]:
    """The seqlab modules the module at ``rel`` (relative to the package) imports, as dotted names."""
    package = list(rel.with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
                names = [target] if node.module else [".".join(base + [a.name]) for a in node.names]
                found.update(n for n in names if n)
            elif node.module and node.module.startswith("seqlab."):
                found.add(node.module.removeprefix("seqlab."))
        elif isinstance(node, ast.Import):
            found.update(a.name.removeprefix("seqlab.") for a in node.names if a.name.startswith("seqlab."))
    return found


def upward_imports(source: str, where: str) -> list[str]:
    """The imports of the module at ``where`` (relative to the package) that break the one-way flow."""
    rel = Path(where)
    own = rel.parts[0] if len(rel.parts) > 1 else rel.stem
    problems = []
    for target in imported_seqlab_modules(rel, source):
        dest = layer_of(target)
        if not dest or dest == own:
            continue
        if dest not in ORDER and dest not in LEAVES and not (ROOT / dest).exists() and not (ROOT / f"{dest}.py").exists():
            dest = "__init__"  # a name of the package root itself (``from . import __version__``)
        if own in LEAVES and own != "__init__" and dest not in LEAVES:
            problems.append(f"{rel} (a leaf) imports seqlab.{target}")
        elif dest in LEAVES or dest == "__init__":
            continue
        elif dest not in ORDER:
            assert hasattr(seqlab, dest), f"{rel}: unknown seqlab module {target}"  # a package attribute
        elif own in ORDER and ORDER.index(dest) > ORDER.index(own):
            problems.append(f"{rel} imports upward: seqlab.{target}")
    return problems


def sources(outside: str) -> list[tuple[str, str]]:
    """(path relative to the package, text) of every module whose first path part is not ``outside``."""
    return [(str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")) for path in ROOT.rglob("*.py")
            if path.relative_to(ROOT).parts[0] != outside]


def test_imports_flow_one_way():
    problems = [p for rel, text in sources("__main__.py") for p in upward_imports(text, rel)]
    assert not problems, "\n".join(problems)


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def top_level_imports(path: Path) -> set[str]:
    """The seqlab modules ``path`` imports when it is imported (not inside functions), as dotted names."""
    rel = path.relative_to(ROOT).with_suffix("")
    package = list(rel.parts[:-1])
    found = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - node.level + 1]
            if node.module:
                found.add(".".join(base + [node.module]))
            found.update(".".join(base + [a.name]) for a in node.names if not node.module)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("seqlab."):
            found.add(node.module.removeprefix("seqlab."))
    return found


def test_no_import_circles_even_inside_a_package():
    modules = {module_name(p): p for p in ROOT.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        targets = set()
        for t in top_level_imports(path):
            while t and t not in modules:  # "from .x import y" names a module x, or y inside the package x
                t = t.rpartition(".")[0]
            if t and t != name and not name.startswith(t + ".") and t != "":
                targets.add(t)
        graph[name] = targets
    circles, state = [], {}

    def visit(node, trail):
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                circles.append(" → ".join(trail[trail.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not circles, "\n".join(circles)


SUBJECTS = re.compile(r"(^|\.)(task|task_cls|model|predictor)$")  # what a probe asks about


def task_probes(source: str, where: str, task_names: set[str]) -> list[str]:
    """A task named by its string in a comparison (``task.name == "tagging"``, ``name in ("seq2seq", …)``), or a
    task, model or predictor probed with ``hasattr`` / ``getattr(…, default)``: what a module outside ``tasks/``
    must not do (it asks the task's declared capabilities instead)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            values = [c.value for c in operands if isinstance(c, ast.Constant)]
            values += [e.value for c in operands if isinstance(c, (ast.Tuple, ast.List, ast.Set))
                       for e in c.elts if isinstance(e, ast.Constant)]
            named = [v for v in values if isinstance(v, str) and v in task_names]
            if named:
                found.append(f"{where}:{node.lineno}: compares the task name {named[0]!r}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args and (
                node.func.id == "hasattr" or (node.func.id == "getattr" and len(node.args) == 3)):
            subject = ast.unparse(node.args[0])
            if SUBJECTS.search(subject):
                found.append(f"{where}:{node.lineno}: probes {subject} with {node.func.id}")
    return found


def test_no_task_name_or_probe_outside_tasks():
    from seqlab.tasks import TASKS

    problems = [p for rel, text in sources("tasks") for p in task_probes(text, rel, set(TASKS))]
    assert not problems, "\n".join(problems)


def test_the_rules_catch_planted_violations():
    names = {"tagging", "seq2seq"}
    assert task_probes('if task.name == "tagging":\n    pass\n', "cli/x.py", names)
    assert task_probes('ok = art.task in ("seq2seq", "x")\n', "cli/x.py", names)
    assert task_probes('if hasattr(task, "vocab"):\n    pass\n', "serving/x.py", names)
    assert task_probes('soft = getattr(art.model, "soft", False)\n', "cli/x.py", names)
    assert not task_probes('if args.mode == "fast" and getattr(args, "device", None):\n    pass\n', "cli/x.py", names)
    assert any("upward" in p for p in upward_imports("from ..cli import main\n", "tasks/x.py"))
    assert any("a leaf" in p for p in upward_imports("from .tasks import get_task\n", "options.py"))
