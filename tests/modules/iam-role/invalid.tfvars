# Every value here breaks one rule; the plan must stop and name what to fix.
name                 = "Developer Role"                       # a space
path                 = "securecart"                           # no leading or trailing slash
trust_policy         = "{\"Version\":\"2012-10-17\"}"         # no Statement
permissions_boundary = "DeveloperBoundary"                    # a name, not an ARN
managed_policies     = { "policy:DeployApps" = "DeployApps" } # a name, not an ARN
inline_policies      = { logs = "Allow logs:GetLogEvents" }   # not JSON
max_session_duration = 900                                    # under an hour
