# The shared-services account: a permissions boundary under /securecart/, a deploy policy at the default
# path, and GitHub Actions' OIDC provider for the CI/CD DeploymentRole.
policies = {
  DeveloperBoundary = {
    path        = "/securecart/"
    description = "The most a developer role may ever do"
    document    = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"s3:*\",\"logs:*\"],\"Resource\":\"*\"},{\"Effect\":\"Deny\",\"Action\":\"iam:*\",\"Resource\":\"*\"}]}"
  }
  DeployApps = {
    document = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"ecs:UpdateService\",\"Resource\":\"*\"}]}"
  }
}
oidc_providers = {
  github = {
    url         = "https://token.actions.githubusercontent.com"
    client_ids  = ["sts.amazonaws.com"]
    thumbprints = ["6938fd4d98bab03faadb97b34396831e3780aea1"]
  }
}
tags = {
  "securecart:stack" = "access-shared-services"
}
