"""Prefect orchestration over the newsflow core: one module per flow.

Importing this package imports nothing else, so `python -m flows.healthcheck` starts fast.
"""
