"""Lion Rock: the financing layer between mainland AI developers and global capital, in software."""

__version__ = "0.1.0"
__all__ = ["__version__"]
