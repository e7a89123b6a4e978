# Every target is one npm call; the logic lives in TypeScript (scripts/), so `npm run <target>`
# does the same on machines without make. Pass flags with ARGS, e.g. make setup ARGS="--dry-run".
# The command recipes are silent (@): stdout is the command's own, so `make render > app.yaml` and
# `make status ARGS=--json > s.json` hold only what the command printed.
.DEFAULT_GOAL := help
ARGS ?=

# Two installs: what the scripts need at run time (setup and the other commands a user runs), and
# everything (tests, benchmarks, type checks). A full install counts as both, so going back and
# forth between `make setup` and `make test` installs nothing again.
RUNTIME := node_modules/.installed-runtime
ALL := node_modules/.installed-all

$(RUNTIME): package-lock.json
	npm ci --omit=dev --no-audit --no-fund && touch $@

$(ALL): package-lock.json
	npm ci --no-audit --no-fund && touch $@ $(RUNTIME)

.PHONY: help setup dev port-forward logs scale status rollback validate render cleanup test lint typecheck bench

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

setup: $(RUNTIME) ## Start or reuse the cluster, build and load images, install or upgrade the release
	@npm run --silent setup -- $(ARGS)

dev: $(RUNTIME) ## Setup, then rebuild and roll each component you edit until Ctrl+C (ARGS="--no-port-forward")
	@npm run --silent dev -- $(ARGS)

port-forward: $(RUNTIME) ## Forward the frontend to localhost:3000 and the backend to localhost:8000
	@npm run --silent port-forward -- $(ARGS)

logs: $(RUNTIME) ## Follow every pod's logs in one prefixed stream, e.g. ARGS="--component backend --since 10m"
	@npm run --silent logs -- $(ARGS)

scale: $(RUNTIME) ## Change replica counts or turn the HPA on/off, e.g. ARGS="--frontend 3"
	@npm run --silent scale -- $(ARGS)

status: $(RUNTIME) ## One screen of the cluster, release, components, images and access URLs (ARGS="--watch")
	@npm run --silent status -- $(ARGS)

rollback: $(RUNTIME) ## Roll the release back to its last good revision, or ARGS="--to N"
	@npm run --silent rollback -- $(ARGS)

validate: $(RUNTIME) ## Check the chart and configuration without a cluster (--static)
	@npm run --silent validate -- --static $(ARGS)

render: $(RUNTIME) ## Print the manifests setup would install, secrets masked, no cluster needed (ARGS="--profile prod --out DIR")
	@npm run --silent render -- $(ARGS)

cleanup: $(RUNTIME) ## Remove the release and namespace (ARGS="--keep-data", "--cluster", "--purge")
	@npm run --silent cleanup -- $(ARGS)

test: $(ALL) ## Run every test suite; ends with "N passed, N failed"
	npm test -- $(ARGS)

lint: $(RUNTIME) ## helm lint the chart with each values profile
	@npm run --silent lint

typecheck: $(ALL) ## Type-check all TypeScript (tsc --noEmit)
	@npm run --silent typecheck

bench: $(ALL) ## Run the benchmarks (not part of the tests)
	@npm run --silent bench -- $(ARGS)
