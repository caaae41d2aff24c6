"""The scoring engine: pure (no I/O, no asyncio, no Kafka or Redis)."""


def engine_build() -> str:
    """How the engine runs here: "compiled" (mypyc extension modules, see setup.py) or "pure"."""
    from scoring import engine

    return "pure" if (engine.__file__ or "").endswith(".py") else "compiled"
