"""One script per method (`python -m spy_align.scripts.METHOD`), each driven by `TrlParser`."""
