"""`securecart-tf report`: who can do what, where.

The effective access of each principal in each account, computed from the matrix alone (no AWS calls):
`access` computes it, `diff` compares two revisions, `render_md` and `render_html` present it, and `cli`
adds the command.
"""
