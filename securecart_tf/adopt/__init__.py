"""`securecart-tf import`: adopt an organization that already exists.

`live` reads it through read-only AWS calls into an `inventory.Inventory`; `write` turns that into the access
matrix, environment files, policy files and the adoption record (`config.adoption`), and lists what the matrix
cannot express. Rendering then places an `import` block for every adopted object in its stack.
"""
