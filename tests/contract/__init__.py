"""One contract suite for the ports, run against every backend."""
