"""Imported by the embedded cluster's fork server (forkserver.py): the shard stack, once, before any
worker is forked from it."""

from .warm import warm_up

warm_up()
