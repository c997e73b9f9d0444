"""Where bytes come from and go to: local folders, S3 (PMC's bucket or any endpoint), PMC's
packages, the output locations, and the shard writer that ends the flow (a work unit's shard,
index part, rejects and unit record)."""
