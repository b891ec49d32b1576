"""labrunner: learn Kubernetes by doing, in your own terminal."""

__all__ = ["__version__"]
__version__ = "0.1.0"
