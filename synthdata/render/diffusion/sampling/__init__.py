"""Sampling: objectives and their schedulers, the batched sampler, precision."""
