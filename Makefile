# Everything bootstraps a local .venv from requirements.txt; only Python 3.11 and pip are assumed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: venv demo test lab app bench clean

$(BIN)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.txt
	# labnet itself runs from this checkout: a .pth file puts it on the venv's path (kernels included).
	$(BIN)/python -c "import os, site; open(os.path.join(site.getsitepackages()[0], 'labnet-checkout.pth'), 'w').write(os.getcwd())"
	touch $@

venv: $(BIN)/.installed

## The main job: size, preview, deploy to the embedded AWS emulator, print the outputs, tear down.
demo: venv
	$(BIN)/python -m labnet demo --diagram out/demo-topology.png

## The test suite (unit, program under Pulumi mocks, end to end on moto, notebooks under papermill, browser).
test: venv
	$(BIN)/python -m pytest -q

## JupyterLab on 127.0.0.1 with the notebooks.
lab: venv
	$(BIN)/jupyter lab --ip=127.0.0.1 --notebook-dir=notebooks

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis test-artifacts
