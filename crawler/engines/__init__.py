"""Forum engines as data: selector presets and the page parsers that apply them."""
