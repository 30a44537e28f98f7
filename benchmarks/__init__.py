"""lowrank_la benchmarks: ``python -m benchmarks [names...] [--quick]``."""
