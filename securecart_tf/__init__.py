"""securecart-tf: govern access across a multi-account AWS organization from one access-matrix YAML."""

__version__ = "0.1.0"
