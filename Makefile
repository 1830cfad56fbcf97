# swift-relbert: the two commands a fresh machine needs are `make run` and `make test`.
SWIFT ?= swift
RELEASE_BIN = .build/release/relbert
MODEL ?= models/all-MiniLM-L6-v2

.PHONY: setup build run test bench clean

setup:
	scripts/setup.sh

build: setup
	$(SWIFT) build -c release --product relbert

# The main job on the bundled defaults: embed a few pairs and evaluate the bundled analogy sets.
run: build
	printf 'paris\tfrance\ntokyo\tjapan\npuppy\tdog\n' | $(RELEASE_BIN) embed --model $(MODEL) --format tsv | cut -c1-120
	$(RELEASE_BIN) eval analogy --model $(MODEL)

# Every test, in release (numeric tests are 10-50x slower in debug builds).
test: setup
	$(SWIFT) build -c release --product relbert
	$(SWIFT) test -c release --disable-swift-testing

bench: build
	$(RELEASE_BIN) bench embed --model $(MODEL) --threads 1
	$(RELEASE_BIN) bench embed --model $(MODEL) --threads 2

clean:
	rm -rf .build
