# The README's two commands. `make demo` sets up and runs the main job; `make test` sets up and runs the tests.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup demo test bench clean browser lint

$(BIN)/seqlab: pyproject.toml requirements/cpu.txt requirements/test.txt
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements/cpu.txt
	$(BIN)/python -m pip install -q -r requirements/test.txt
	$(BIN)/python -m pip install -q -e '.[plots,embeddings,explain,seq2seq,vision,serve,onnx,tensorboard,zh]'
	touch $(BIN)/seqlab

setup: $(BIN)/seqlab

demo: setup
	$(BIN)/seqlab quickstart

# the web page's browser test drives Debian's Chromium (Playwright's own download is not reachable here);
# Chinese plots need a CJK font (WenQuanYi Micro Hei, 5 MB); the server's listen-queue test reads iproute2's ss
browser:
	@command -v chromium >/dev/null 2>&1 || apt-get install -y -q chromium >/dev/null 2>&1 || \
		(apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1) || \
		echo "note: could not install chromium (apt-get install -y chromium); the browser test will say so"
	@test -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc || apt-get install -y -q fonts-wqy-microhei >/dev/null 2>&1 || \
		(apt-get update -q >/dev/null 2>&1 && apt-get install -y -q fonts-wqy-microhei >/dev/null 2>&1) || \
		echo "note: could not install fonts-wqy-microhei; Chinese in plots will show as boxes"
	@command -v ss >/dev/null 2>&1 || apt-get install -y -q iproute2 >/dev/null 2>&1 || \
		(apt-get update -q >/dev/null 2>&1 && apt-get install -y -q iproute2 >/dev/null 2>&1) || \
		echo "note: could not install iproute2; the server's listen-queue test (it reads ss) will skip and say so"

test: setup browser
	$(BIN)/ruff check -q src tests benchmarks
	SEQLAB_DATA_DIR=$${SEQLAB_DATA_DIR:-$(abspath ../shared/datasets)} $(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check src tests benchmarks

bench: setup
	SEQLAB_DATA_DIR=$${SEQLAB_DATA_DIR:-$(abspath ../shared/datasets)} $(BIN)/python benchmarks/classification_epoch.py

clean:
	rm -rf $(VENV) runs .pytest_cache
