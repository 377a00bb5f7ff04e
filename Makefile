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
	.venv/bin/ruff check crawler tests bench

bench:
	.venv/bin/python bench/rules.py
	.venv/bin/python bench/index.py
	.venv/bin/python bench/crawl_tor.py

clean:
	rm -rf .darkwatch build dist *.egg-info demo.db
