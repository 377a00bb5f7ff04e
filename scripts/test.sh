#!/usr/bin/env bash
# The test command: set-up, lint, rule-pack checks, then the whole pytest suite.
# Fails if any test fails or if no test ran (pytest exit 5 is an error here).
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh || exit 1
export PATH="$PWD/.venv/bin:$PATH"
status=0

echo "==> ruff" >&2
ruff check crawler tests bench lab || status=1

echo "==> mypy (strict where pyproject.toml [tool.mypy] lists)" >&2
mypy || status=1

echo "==> import contracts (pyproject.toml [tool.importlinter])" >&2
lint-imports || status=1

echo "==> rule packs" >&2
darkwatch rules lint rules/ || status=1
darkwatch rules test rules/ || status=1

echo "==> pytest" >&2
python -m pytest --durations=25 "$@"
rc=$?
if [ $rc -eq 5 ]; then
  echo "error: pytest collected no tests; that is a failure, not a pass" >&2
  rc=1
fi
[ $rc -ne 0 ] && status=$rc
exit $status
