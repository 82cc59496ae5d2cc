"""Each stack becomes a Terraform root folder.

Jinja renders only backend, provider and module wiring; every piece of data is written with
`json.dumps` into `terraform.tfvars.json`. No policy document ever passes through string templating.
Output is deterministic, and a file is rewritten only when its bytes change.

- `environments`: which stacks an environment renders, and the default environment;
- `stack`: one stack's files (providers, module wiring, tfvars) and its content hash;
- `write`: the output folder, its manifests, and the removal of stacks that are gone;
- `hcl`, `jsontext`: quoted HCL strings and fast indented JSON.
"""

from securecart_tf.render.environments import default_environment, load_env, stacks_of
from securecart_tf.render.hcl import hcl_string
from securecart_tf.render.jsontext import pretty_json
from securecart_tf.render.stack import SANDBOX_MAX_RETRIES
from securecart_tf.render.write import MANIFEST, STACK_FILES, RenderedStack, render

__all__ = [
    "MANIFEST",
    "SANDBOX_MAX_RETRIES",
    "STACK_FILES",
    "RenderedStack",
    "default_environment",
    "hcl_string",
    "load_env",
    "pretty_json",
    "render",
    "stacks_of",
]
