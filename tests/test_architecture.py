"""Imports flow one way: data → embeddings → layers → models → decoding → artifact → tasks → training → evaluation →
export → serving → inference → cli. config, runtime, cotenancy, metrics and options import nothing from seqlab."""

import ast
from pathlib import Path

import seqlab

ORDER = ["data", "embeddings", "layers", "models", "decoding", "artifact", "tasks", "training", "evaluation", "export", "serving", "inference", "cli"]
LEAVES = {"config", "runtime", "cotenancy", "metrics", "options", "search", "textstream", "__init__"}
ROOT = Path(seqlab.__file__).parent


def layer_of(module: str) -> str:
    return module.split(".")[0]


def imported_seqlab_modules(path: Path) -> set[str]:
    rel = path.relative_to(ROOT).with_suffix("")
    package = list(rel.parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
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


def test_imports_flow_one_way():
    problems = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        own = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        if own == "__main__":
            continue
        for target in imported_seqlab_modules(path):
            dest = layer_of(target)
            if not dest or dest == own:
                continue
            if own in LEAVES and own != "__init__":
                problems.append(f"{rel} (a leaf) imports seqlab.{target}")
            elif dest in LEAVES or dest == "__init__":
                continue
            elif dest not in ORDER:
                assert hasattr(seqlab, dest), f"{rel}: unknown seqlab module {target}"  # a package attribute
            elif own in ORDER and ORDER.index(dest) > ORDER.index(own):
                problems.append(f"{rel} imports upward: seqlab.{target}")
    assert not problems, "\n".join(problems)
