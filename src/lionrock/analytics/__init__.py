"""analytics"""

__all__: list[str] = []
