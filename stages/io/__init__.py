"""Where bytes come from and go to: local folders, S3 (PMC's bucket or any endpoint), PMC's
packages, and the output locations shards are written to."""
