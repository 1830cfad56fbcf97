# swift-relbert: the two commands a fresh machine needs are `make run` and `make test`.
SWIFT ?= swift
RELEASE_BIN = .build/release/relbert
MODEL ?= models/all-MiniLM-L6-v2

.PHONY: setup build run test bench clean

setup:
	scripts/setup.sh

build: setup
	$(SWIFT) build -c release --product relbert

# The main job on the bundled defaults: fine-tune the default model on the bundled SemEval-2012
# data on a local cluster of 2 worker processes (about 10 minutes on 2 cores), report validation
# loss and analogy accuracy, then serve the trained model on a local cluster and query it.
RUN_OUTPUT ?= runs/main
run: build
	rm -rf $(RUN_OUTPUT)
	$(RELEASE_BIN) train --model $(MODEL) --workers 2 --output $(RUN_OUTPUT)
	scripts/serve-demo.sh $(RUN_OUTPUT)/model

# Every test, in release (numeric tests are 10-50x slower in debug builds).
# Then the Python and C clients against a real server (each a second implementation of the wire
# format), the MLP classifier against scikit-learn, the systemd units (systemd-analyze verify), the
# Kubernetes manifests (kubernetes-validate),
# and the multi-host test in network namespaces
# (each skipped, exit 77, where the machine lacks the tool).
test: setup
	$(SWIFT) build -c release --product relbert
	$(SWIFT) test -c release --disable-swift-testing
	RELBERT_REQUIRE_SERVE=1 clients/python/run-tests.sh
	clients/c/run-test.sh
	scripts/test-mlp-against-sklearn.sh || [ $$? -eq 77 ]
	deploy/systemd/verify.sh || [ $$? -eq 77 ]
	deploy/kubernetes/validate.sh || [ $$? -eq 77 ]
	deploy/netns/cluster-test.sh || [ $$? -eq 77 ]

bench: build
	$(RELEASE_BIN) bench embed --model $(MODEL) --threads 1
	$(RELEASE_BIN) bench embed --model $(MODEL) --threads 2
	$(RELEASE_BIN) bench train --model $(MODEL)
	$(RELEASE_BIN) bench cluster --model $(MODEL) --workers 1,2
	$(RELEASE_BIN) bench serve --model $(MODEL) --workers 2 --clients 32 --seconds 30

clean:
	rm -rf .build
