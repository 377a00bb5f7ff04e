# The README's two commands are `make demo` and `make test`; both set up what they need.
.PHONY: setup demo test lint bench clean

setup:
	scripts/setup.sh

demo:
	scripts/setup.sh --no-es
	.venv/bin/darkwatch demo

test:
	scripts/test.sh

lint:
	.venv/bin/ruff check crawler tests bench lab

bench:
	scripts/setup.sh
	.venv/bin/pip install -q -e '.[test,bench]'
	.venv/bin/python bench/run_all.py

clean:
	rm -rf .darkwatch build dist *.egg-info lab/*.egg-info lab/build demo.db
