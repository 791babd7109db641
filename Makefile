# Set-up and entry points. `make demo` and `make test` create the virtual environment in
# .venv on first use and reuse it afterwards: the stamp file is only rebuilt when a
# requirements file or setup.cfg changes, and pip then only installs what is missing.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check
CONSTR := -c requirements/constraints.txt
STAMP  := $(VENV)/.installed
REQS   := $(wildcard requirements/*.txt) setup.cfg
JOBS   ?= $(shell nproc 2>/dev/null || echo 2)

DEMO_DATA ?= data/toy
DEMO_WORK ?= work_dirs/toy_demo

.PHONY: help setup demo test test-fast lint clean toy-data sweep-toy study-toy

help:
	@echo "make setup      create .venv with the pinned stack (first run ~15-20 min on 2 cores)"
	@echo "make demo       the whole pipeline on the toy dataset on CPU: ACR, class maps,"
	@echo "                pseudo labels, DeepLabV2; prints CAM, pseudo-label and seg mIoU"
	@echo "make sweep-toy  a local 2x2 sweep of alpha and start_layer on the toy dataset"
	@echo "make study-toy  the seeded ACR study on the toy dataset (configs/ablations/acr_toy.yaml)"
	@echo "make test       run the full test suite (includes the slow end-to-end tests)"
	@echo "make test-fast  run the unit tests only"
	@echo "make lint       flake8 and isort over the package, tools and tests"

setup: $(STAMP)

$(STAMP): $(REQS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install $(CONSTR) "pip>=23" wheel
	$(PIP) install -r requirements/torch.txt
	$(PIP) install --no-deps -r requirements/build.txt
	# mmcv picks the headless OpenCV when it is already present (no libGL needed).
	$(PIP) install $(CONSTR) "opencv-python-headless>=4.8"
	# mmcv's setup.py imports torch and compiles its ops: no build isolation.
	MMCV_WITH_OPS=1 MAX_JOBS=$(JOBS) $(PIP) install --no-build-isolation -r requirements/mminstall.txt
	$(PIP) install $(CONSTR) "setuptools>=77"
	$(PIP) install -r requirements/runtime.txt -r requirements/tests.txt -r requirements/optional.txt
	$(PIP) install --no-build-isolation --no-deps -e .
	$(PY) -c "import mmcv.ops, mmseg, timm, torch, torchvision; print('stack ok: torch', torch.__version__, 'mmcv', mmcv.__version__, 'mmseg', mmseg.__version__, 'timm', timm.__version__)"
	touch $(STAMP)

toy-data: $(STAMP)
	$(PY) tools/dataset_converters/make_toy_dataset.py $(DEMO_DATA)

demo: $(STAMP)
	$(PY) tools/demo.py --data-root $(DEMO_DATA) --work-dir $(DEMO_WORK)

sweep-toy: $(STAMP) toy-data
	$(PY) tools/sweep.py configs/sweeps/acr_alpha_startlayer_toy.yaml --local

study-toy: $(STAMP) toy-data
	$(PY) tools/ablate.py configs/ablations/acr_toy.yaml

test: $(STAMP)
	$(PY) -m pytest tests

test-fast: $(STAMP)
	$(PY) -m pytest tests -m "not slow"

lint: $(STAMP)
	$(PY) -m flake8 projects tools tests && $(PY) -m isort --check-only --diff projects tools tests

clean:
	rm -rf work_dirs .pytest_cache
