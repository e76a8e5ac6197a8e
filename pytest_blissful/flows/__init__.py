"""Orchestrations above stack, load, chaos and grading: the FMEA run, the version comparison, the canary."""
