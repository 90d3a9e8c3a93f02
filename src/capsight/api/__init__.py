"""The HTTP API: ``create_app`` in ``capsight.api.app``; classification orchestration in ``service``.

Kept import-free so ``capsight --help`` does not pay for FastAPI.
"""
