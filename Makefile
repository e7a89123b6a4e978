# Every target is one npm call; the logic lives in TypeScript (scripts/), so `npm run <target>`
# does the same on machines without make. Pass flags with ARGS, e.g. make setup ARGS="--dry-run".
.DEFAULT_GOAL := help
ARGS ?=

node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund

.PHONY: help setup port-forward scale validate cleanup test lint typecheck bench

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

setup: node_modules/.package-lock.json ## Start or reuse the cluster, build and load images, install or upgrade the release
	npm run --silent setup -- $(ARGS)

port-forward: node_modules/.package-lock.json ## Forward the frontend to localhost:3000 and the backend to localhost:8000
	npm run --silent port-forward -- $(ARGS)

scale: node_modules/.package-lock.json ## Change replica counts or turn the HPA on/off, e.g. ARGS="--frontend 3"
	npm run --silent scale -- $(ARGS)

validate: node_modules/.package-lock.json ## Check the chart and configuration without a cluster (--static)
	npm run --silent validate -- --static $(ARGS)

cleanup: node_modules/.package-lock.json ## Remove the release and namespace (ARGS="--keep-data", "--cluster", "--purge")
	npm run --silent cleanup -- $(ARGS)

test: node_modules/.package-lock.json ## Run every test suite; ends with "N passed, N failed"
	npm test -- $(ARGS)

lint: node_modules/.package-lock.json ## helm lint the chart with each values profile
	npm run --silent lint

typecheck: node_modules/.package-lock.json ## Type-check all TypeScript (tsc --noEmit)
	npm run --silent typecheck

bench: node_modules/.package-lock.json ## Run the benchmarks (not part of the tests)
	npm run --silent bench -- $(ARGS)
