"""The securecart-tf command line: `app` holds the commands and `main`; one module per group of commands."""
