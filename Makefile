# Lion Rock: every target builds .venv if it is missing, then installs the package into it.
# Python: 3.13 preferred (the newest benchmark peers need it), 3.12 accepted.
SHELL := /bin/bash
PYTHON ?= $(shell for p in python3.13 $$HOME/.pyenv/versions/3.13*/bin/python3.13 /usr/local/bin/python3.13 python3.12 $$HOME/.pyenv/versions/3.12*/bin/python3.12; do \
            if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; assert sys.version_info >= (3, 12)' >/dev/null 2>&1; then command -v $$p; break; fi; done)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
OUT ?= out/demo
SEED ?= 7
SCALE ?= default

.PHONY: demo test bench serve sim soak lint typecheck clean venv fuzz

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.12 or newer not found (install python3.13)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[service,dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/lionrock demo --out $(OUT) --seed $(SEED) --scale $(SCALE)

test: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy
	$(PY) -m pytest -n 2 -W error

BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install -q -e '.[bench]'
	@touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(PY) -m bench all

# The service's data (journal, read model, users) under out/serve/, never in the repository root.
serve: $(STAMP)
	mkdir -p out/serve
	$(VENV)/bin/lionrock serve --db out/serve/lionrock.db

sim: $(STAMP)
	$(VENV)/bin/lionrock demo --out out/sim-$(SEED) --seed $(SEED) --scale small

# The large scenario end to end, then a replay from scratch that must print the same state hash.
soak: $(STAMP)
	$(VENV)/bin/lionrock demo --scale large --out out/soak --fresh | tee out-soak.log
	$(VENV)/bin/lionrock replay out/soak/journal.sqlite --from-scratch | tail -1 | diff - <(tail -1 out-soak.log) && echo "soak: replay equals live"

# The FIX session fuzz at full size: over 100,000 mutated and random frames (make test runs 200 examples).
FUZZ_EXAMPLES ?= 12000
fuzz: $(STAMP)
	LIONROCK_FIX_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest -q -n 0 -W error tests/gateways/fix/test_fix_fuzz.py
	LIONROCK_SCHEMATHESIS_EXAMPLES=$(or $(SCHEMATHESIS_EXAMPLES),100) $(PY) -m pytest -q -n 2 -W error tests/gateways/rest/test_schemathesis.py

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

typecheck: $(STAMP)
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) out build *.egg-info

# The seeded hostile-client simulation at length (tests/testkit/service_hostile.py): a real `lionrock serve`,
# valid and hostile REST/FIX traffic from every role, SIGKILLs and restarts; SEED may list several.
.PHONY: hostile
hostile: $(STAMP)
	SEED=$(SEED) COMMANDS=$(or $(COMMANDS),2000) KILLS=$(or $(KILLS),6) PYTHONPATH=tests $(PY) -m testkit.service_hostile

# The cluster chaos tests at length (tests/scale/test_cluster*.py: NATS nodes, shards, the projector and
# the edge SIGKILLed mid-load on a three-node JetStream cluster); make test runs a short one. SEED replays.
CHAOS_ORDERS ?= 5000
.PHONY: chaos
chaos: $(STAMP)
	LIONROCK_CHAOS_SEED=$(SEED) LIONROCK_CHAOS_ORDERS=$(CHAOS_ORDERS) $(PY) -m pytest -q -s -n 0 -W error -p no:cacheprovider tests/scale/test_cluster.py tests/scale/test_cluster_edge.py

# The scaled-out platform on loopback (src/lionrock/scale/localcluster.py): three nats-server nodes
# (streams with 3 replicas), PostgreSQL, shards t0, t1 and the primary, the projector and the edge
# (http://127.0.0.1:8000, FIX 9878); ports and stores under $(CLUSTER_DIR). Ctrl-C or make cluster-stop.
CLUSTER_DIR ?= out/cluster
.PHONY: cluster cluster-stop
cluster: $(STAMP)
	$(PY) -m lionrock.scale.localcluster up --root $(CLUSTER_DIR)

cluster-stop:
	$(PY) -m lionrock.scale.localcluster stop --root $(CLUSTER_DIR)

# The hk-ai-wave scenario through a fresh three-node cluster and its shard processes (under out/cluster-demo):
# each shard's state hash (checked against an engine fed its stream) and the report (docs/scale-out.md).
.PHONY: demo-cluster
demo-cluster: $(STAMP)
	$(PY) -m lionrock.scale.localcluster demo --root out/cluster-demo --scale $(or $(DEMO_SCALE),small) --seed $(SEED)
