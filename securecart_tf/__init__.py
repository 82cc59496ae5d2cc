"""securecart-tf: govern access across a multi-account AWS organization from one access-matrix YAML."""

__version__ = "0.1.0"
"""The one place the version is written: pyproject.toml builds the package metadata from this line."""
