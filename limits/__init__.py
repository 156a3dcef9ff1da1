"""Tag concurrency limits: how many task runs with a tag may be RUNNING at once."""
