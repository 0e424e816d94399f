"""Worlds: one package per domain (``driving``, …) holding its agents, traffic or anatomy rules and
conditions. A world feeds the stage packages through their registries (motions, skeletons, …; listed
as entry points in pyproject.toml) and never imports a later stage (render, annotate, io)."""
