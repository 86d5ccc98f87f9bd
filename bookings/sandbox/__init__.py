"""Fake MSPECS and Vitec servers over real HTTP on loopback, for make run, tests and benches.
Never imported by runtime code paths."""
