"""`securecart-tf report`: who can do what, where.

The effective access of each principal in each account, computed from the matrix alone (no AWS calls):
`access` computes it (reading documents with `policies` and actions with `actions`), `diff` compares two
revisions (`baseline` loads the older one), `render_md` and `render_html` present it, and `run` goes from
a matrix file to the text in a `formats` format. The command itself is `securecart_tf.cli.report`.
"""
