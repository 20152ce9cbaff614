"""The HTTP service: FastAPI routes over the same functions the CLI uses, plus the worker."""
