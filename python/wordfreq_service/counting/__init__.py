"""The counting engine: the native core's Python API, inputs, stop words, and the
pure-Python reference that defines the rules (tests import it; production code does not)."""
