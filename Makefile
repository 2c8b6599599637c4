# Dropfeed — build, test, benchmark and demo.
#   make demo   run the whole job on the samples against a throw-away loopback sshd
#   make test   install what the tests need (when missing) and run every test
SHELL := /bin/bash
SWIFT ?= swift
PREFIX ?= /usr/local
APT_PACKAGES := libssh2-1-dev openssh-server pkg-config python3 groff-base man-db zsh gnupg

.PHONY: all deps layers build release test test-mappings test-crash fuzz fuzz-smoke bench bench-diff bench-run bench-sftp bench-scale demo lint format install clean

all: build

## deps: install the Debian packages the build and the tests need (only those missing)
deps:
	@scripts/deps.sh $(APT_PACKAGES)

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

## test: unit, end-to-end and SFTP tests (the SFTP tests start their own sshd)
test: deps layers
	@command -v csv-diff >/dev/null 2>&1 || python3 -m pip install -q --disable-pip-version-check csv-diff==1.2
	$(SWIFT) build -c release --product dropfeed
	DROPFEED_BIN="$$(swift build -c release --show-bin-path)/dropfeed" $(SWIFT) test --parallel

## test-mappings: every mapping in mappings/ against its case file in mappings/cases/
test-mappings: build
	@bin="$$($(SWIFT) build --show-bin-path)/dropfeed"; status=0; for mapping in mappings/*.json; do \
	  name=$$(basename "$$mapping" .json); \
	  "$$bin" test-mapping "$$mapping" --cases "mappings/cases/$$name.cases.json" || status=1; \
	done; exit $$status

## fuzz: libFuzzer (swiftc -sanitize=fuzzer) on the CSV reader, the config/mapping loader and the
## snapshot reader, FUZZ_SECONDS (default 30) each; Tests/Fuzz/README.md
fuzz:
	scripts/fuzz.sh

## fuzz-smoke: build the fuzz targets, replay their corpus and regressions, fuzz 5 seconds each
fuzz-smoke:
	FUZZ_SECONDS=5 scripts/fuzz.sh

## test-crash: only the crash, full-disk and concurrency tests (README: Crash safety)
test-crash: deps
	$(SWIFT) build -c release --product dropfeed
	DROPFEED_BIN="$$(swift build -c release --show-bin-path)/dropfeed" $(SWIFT) test --parallel --filter 'CrashTests|FullDiskTests|ConcurrencyTests'

## bench: Dropfeed beside its peers (csv-diff, OpenSSH sftp); prints ratios
bench: release
	bench/bench.sh

bench-diff: release
	bench/bench.sh diff

bench-run: release
	bench/bench.sh run

bench-sftp: release
	bench/bench.sh sftp

## bench-scale: the 3-target run on a 10,000,000-row export, three nights (time, peak RSS, state size)
bench-scale: release
	python3 bench/run/bench_scale.py --dropfeed "$$($(SWIFT) build -c release --show-bin-path)/dropfeed"

demo: release
	scripts/demo.sh

## layers: the folders of DropfeedCore depend on each other in one direction only
layers:
	@python3 scripts/check-layers.py >/dev/null || python3 scripts/check-layers.py

lint: layers
	@if $(SWIFT) format --help >/dev/null 2>&1; then $(SWIFT) format lint --recursive Sources Tests; else echo "swift format not available"; fi

format:
	$(SWIFT) format --in-place --recursive Sources Tests

## install: the binary, the man page and the bash and zsh completion under $(PREFIX) (and $(DESTDIR));
##   BIN=path/to/dropfeed installs that binary instead of building the release one
BIN ?=
install: $(if $(BIN),,release) man-lint
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/zsh/site-functions \
		$(DESTDIR)$(PREFIX)/share/doc/dropfeed/systemd $(DESTDIR)$(PREFIX)/share/doc/dropfeed/cron
	install -m 0755 "$(or $(BIN),$$($(SWIFT) build -c release --show-bin-path)/dropfeed)" $(DESTDIR)$(PREFIX)/bin/dropfeed
	install -m 0644 contrib/man/dropfeed.1 $(DESTDIR)$(PREFIX)/share/man/man1/dropfeed.1
	install -m 0644 contrib/completion/dropfeed.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/dropfeed
	install -m 0644 contrib/completion/_dropfeed $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_dropfeed
	install -m 0644 contrib/systemd/dropfeed.service contrib/systemd/dropfeed.timer $(DESTDIR)$(PREFIX)/share/doc/dropfeed/systemd/
	install -m 0644 contrib/cron/dropfeed $(DESTDIR)$(PREFIX)/share/doc/dropfeed/cron/

## man-lint: the man page renders without a warning
man-lint:
	@out="$$(groff -ww -z -man contrib/man/dropfeed.1 2>&1)"; if [ -n "$$out" ]; then echo "$$out"; exit 1; fi

clean:
	rm -rf .build demo-work bench/data bench/results
