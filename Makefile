# Everything bootstraps a local .venv from requirements.txt; only Python 3.11 and pip are assumed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: venv demo test lab app bench clean chromium live-check audit audit-venv pulumi

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

## The test suite (unit, program under Pulumi mocks, end to end on moto, notebooks under papermill, browser,
## the real engine through the pulumi CLI, and Prowler auditing a deployed network). The CLI comes from
## `make pulumi`; if it cannot be had, the real-engine tests say why and skip, except in CI (CI=true), where
## they fail.
test: venv chromium audit-venv
	-@sh tools/pulumi/build.sh >/dev/null
	$(BIN)/python -m pytest -q

## Debian's chromium for the browser test (tests/test_browser.py launches it through Playwright, which never
## downloads a browser here). Does nothing when it is installed; otherwise apt-get, as root or through sudo.
CHROMIUM := /usr/bin/chromium
chromium:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  echo "installing Debian's chromium for the browser test (apt-get)"; \
	  $$SUDO apt-get update -q && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium; }

## JupyterLab on 127.0.0.1 with the notebooks.
lab: venv
	$(BIN)/jupyter lab --ip=127.0.0.1 --no-browser --allow-root --notebook-dir=notebooks

## The deploy form as a web page: Voilà on http://127.0.0.1:$(APP_PORT)/ with labnet's template (the page makes
## no request outside this machine) and app/config/voila.py (a closed page shuts its kernel down). Defaults from
## LABNET_APP_STACK, _SPOKES, _NODES, _INSTANCE, _AZS, _SUPERNET, _TARGET, _ENGINE (see app/deploy_form.ipynb).
APP_PORT ?= 8866
app: venv
	JUPYTER_PATH=$(CURDIR)/app/share/jupyter$${JUPYTER_PATH:+:$$JUPYTER_PATH} $(BIN)/voila app/deploy_form.ipynb \
	  --Voila.ip=127.0.0.1 --port=$(APP_PORT) --no-browser --template=labnet --theme=light \
	  --Voila.config_file_paths=$(CURDIR)/app/config

## The Automation API engine end to end on a machine with the pulumi CLI: preview, up, outputs, an unchanged up,
## destroy, against the embedded emulator; prints a report to paste into a bug report (exit 3: no CLI here).
## LIVE_CHECK_AWS=us-east-1 checks your own AWS account instead (asks first; two small spokes; always destroys).
live-check: venv
	$(BIN)/python -m labnet live-check $(if $(LIVE_CHECK_AWS),--aws $(LIVE_CHECK_AWS))

## The outside auditor: Prowler in a virtualenv of its own (its pinned dependencies conflict with labnet's),
## built once and kept (about 3 minutes and 2.3 GB on a fresh machine; nothing when it is up to date).
AUDIT_VENV := .venv-audit
$(AUDIT_VENV)/bin/.installed: requirements-audit.txt
	$(PYTHON) -m venv $(AUDIT_VENV)
	$(AUDIT_VENV)/bin/pip install --disable-pip-version-check -q -r requirements-audit.txt
	touch $@

audit-venv: $(AUDIT_VENV)/bin/.installed

## Prowler's EC2, VPC and S3 checks against a deployed stack (on its own target: the emulator, or AWS with your
## credentials), each finding sorted into fail / by design / pass for the stack's resources (exit 1 on a failure):
## make audit STACK=ml-net
audit: venv audit-venv
	@test -n "$(STACK)" || { echo "usage: make audit STACK=<stack name>"; exit 2; }
	$(BIN)/python -m labnet audit $(STACK) --prowler $(AUDIT_VENV)/bin/prowler

## The pulumi CLI for the Automation API engine: the one on PATH, else built from its Go module (the version
## tools/pulumi/go.mod pins, nearest the pinned Python SDK that the Go proxy serves) into .tools/, cached.
## The CLI's absolute path is the last line; without Go it says how to install the CLI the usual way.
pulumi:
	@sh tools/pulumi/build.sh

clean:
	rm -rf $(VENV) $(AUDIT_VENV) .pytest_cache .hypothesis test-artifacts

## Benchmarks (issue 7): rehearsal vs raw boto3, scaling, dependency chain, latency, planning; prints the
## figures table that BENCHMARKS.md records. Under 10 minutes on 2 cores.
bench: venv
	$(BIN)/python bench/run_all.py
