"""Arrow schemas of figcurate's records, the drop-reason vocabulary and sample keys."""
