"""The README starts with the two commands a new user runs, and both exist as Makefile targets that
install the CPU torch wheel before seqlab; .ci/run calls the test command."""

import re
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_readme_starts_with_the_two_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = re.search(r"```bash\n(.*?)```", readme, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in first_block.strip().splitlines()]
    assert commands == ["make demo", "make test"]
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^demo: setup\n\t\$\(BIN\)/seqlab quickstart", makefile, re.M)
    assert re.search(r"^test: setup browser\n", makefile, re.M)
    setup = makefile[makefile.index("$(BIN)/seqlab:"):]
    assert setup.index("requirements/cpu.txt") < setup.index("-e '.[plots,embeddings,explain,seq2seq,vision,serve,onnx,tensorboard,zh]'")  # CPU torch first
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_cpu_requirement_pins_the_local_wheel():
    pins = [l for l in (ROOT / "requirements" / "cpu.txt").read_text().splitlines() if l and not l.startswith("#")]
    assert pins == ["torch==2.13.0"]
