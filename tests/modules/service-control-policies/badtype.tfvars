# A policy of a type the module does not manage (a tag policy).
policies = {
  tags = {
    type    = "TAG_POLICY"
    content = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
  }
}
target_ids = {
  root = "r-ab12"
}
