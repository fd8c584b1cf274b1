GO ?= go
PKGS := ./...

.PHONY: test bench bench-10k demo demo-install lint fuzz soak fakeslack conformance conformance-deps proxy-deps pg-deps

## test: vet, then every test with the race detector (what CI runs); installs the conformance suites' SDKs, tinyproxy and PostgreSQL first
test: conformance-deps proxy-deps pg-deps etcd-deps proto-deps
	$(GO) vet $(PKGS)
	$(GO) test -race -count=1 $(PKGS)

## conformance: Slack's Node SDKs (socket-mode, rtm-api, web-api, bolt) against fakeslack
conformance: conformance-deps
	$(GO) test -race -count=1 ./conformance/

## conformance-deps: the pinned Node SDKs of ./conformance (npm ci, again only when the lockfile changes)
conformance-deps: conformance/node_modules/.package-lock.json
conformance/node_modules/.package-lock.json: conformance/package-lock.json conformance/package.json
	npm ci --prefix conformance --no-audit --no-fund

## proxy-deps: Debian's tinyproxy, the real HTTP CONNECT proxy of test/proxy_test.go (installed when root)
proxy-deps:
	@command -v tinyproxy >/dev/null 2>&1 || sh .ci/apt-install.sh tinyproxy "tinyproxy is missing (the proxy tests run a real one)"

## pg-deps: PostgreSQL's server, for the throwaway clusters of internal/pgtest (Debian's postgresql, installed when root)
pg-deps:
	@sh internal/pgtest/deps.sh

## etcd-deps: etcd's server, for the throwaway etcd of internal/etcdtest (Debian's etcd-server, installed when root)
.PHONY: etcd-deps
etcd-deps:
	@sh internal/etcdtest/deps.sh

## proto-deps: protoc, which clusterpb's test runs to check the committed generated code (Debian's protobuf-compiler, installed when root)
.PHONY: proto-deps proto
proto-deps:
	@sh cluster/clusterpb/deps.sh

## proto: regenerate cluster/clusterpb from its .proto with the pinned generators (protoc 3.21.12, go.mod's protoc-gen-go)
proto: proto-deps
	protoc --plugin=protoc-gen-go="$$($(GO) tool -n protoc-gen-go)" --go_out=. --go_opt=paths=source_relative cluster/clusterpb/clusterpb.proto

## bench: every benchmark, with allocations
bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

## demo: the bot on the embedded Slack stand-in
demo:
	$(GO) run ./cmd/demo

## demo-cluster: three member processes and fakeslack on loopback: traffic, one member killed, a rolling restart; exits 1 if a Socket Mode event was lost
.PHONY: demo-cluster
demo-cluster:
	$(GO) run ./cmd/demo-cluster

## demo-install: an app installed by OAuth into a new workspace while the bot runs, over HTTP, then uninstalled
demo-install:
	$(GO) run ./cmd/demo-install

## fakeslack: the Slack stand-in server alone
fakeslack:
	$(GO) run ./cmd/fakeslack -workspaces 3 -apps 1

## lint: gofmt check and vet
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

## fuzz: every fuzz target for FUZZTIME each (default 15s), one at a time
FUZZTIME ?= 15s
FUZZ_TARGETS := \
	./internal/wire:FuzzDecodeSocketFrame ./internal/wire:FuzzRouteSocketPayload ./internal/wire:FuzzDecodeRTMFrame \
	./actors:FuzzOpenRTMURL ./actors:FuzzOpenSocketModeURL \
	./webhook:FuzzParseError ./webhook:FuzzParseRetryAfter \
	./fakeslack:FuzzAdmin
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "== $$pkg $$fn ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) $$pkg; done

## soak: the chaos soak at full scale for SOAK (default 5m), with the race detector, printing its report
SOAK ?= 5m
soak:
	SWITCHBOARD_SOAK=$(SOAK) $(GO) test -race -count=1 -v -timeout 0 -run '^TestChaos$$' ./test/chaos

## bench-10k: the 10,000 idle RTM workspaces benchmark, idle for 40s (two ping cycles; slow: 10,000 sockets in each of two processes)
bench-10k:
	SWITCHBOARD_BENCH_10K=1 SWITCHBOARD_RTM_BENCH_IDLE=$${SWITCHBOARD_RTM_BENCH_IDLE:-40s} $(GO) test -run '^$$' -bench 'RTMIdleWorkspaces10k' -benchmem -timeout 30m ./test

## bench-ratio: Switchboard against a bare socket loop and a no-decode ceiling, each client in its own process against a Slack side in another (about 5 minutes; SWITCHBOARD_RATIO_EVENTS, _ROUNDS, _ONLY, _CPUPROFILE tune it)
.PHONY: bench-ratio
bench-ratio:
	SWITCHBOARD_BENCH_RATIO=1 $(GO) test -run '^$$' -bench 'AgainstBareLoop' -benchtime 1x -timeout 30m -v ./test

## soak-cluster: the cluster chaos test at full scale: 3 member processes, 3,000 RTM workspaces, 2 apps of 4 connections; SIGKILL and restart one, then SIGTERM each in turn
.PHONY: soak-cluster
soak-cluster:
	SWITCHBOARD_SOAK_CLUSTER=1 $(GO) test -count=1 -v -timeout 30m -run '^TestClusterChaos$$' ./test/cluster
