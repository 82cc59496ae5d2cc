"""Running Terraform.

orchestrate  a Run: what one command needs for one environment (target, model, rendered stacks, ledger)
plan, apply  the commands: plan every stack; apply or destroy them in dependency order
batches      what runs and in what order (a stack waits for its dependencies; a failure skips what follows)
executor     how stacks run concurrently (a thread pool, results as they finish)
steps        what each stack goes through: init → plan → result, and its ledger record
saved        saved plans and state fingerprints
guards       what a plan may not remove, what destroy keeps, what a change reaches
status       StackStatus; results and summary: what a run did, as JSON, a table and Markdown
terraform, ledger, workspace, revision, promote: the runner, the ledger, workspaces, revisions, promotion
"""
