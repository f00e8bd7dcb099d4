#!/usr/bin/env bash
# `npm test`: starts the services the integration tests need, then runs the unit and fast projects
# (two test files at a time) and the reliability project (one at a time: it restarts RabbitMQ and
# kills processes). HOOKHUB_TEST_SKIP_UNIT=1 leaves the unit project out, for CI, which runs it
# first on its own with no network at all.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-services.sh
projects=(unit fast)
[[ ${HOOKHUB_TEST_SKIP_UNIT:-} == 1 ]] && projects=(fast)
npx jest --selectProjects "${projects[@]}" --maxWorkers=2
npx jest --selectProjects reliability --runInBand
