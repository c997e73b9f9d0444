"""CLIP image-text alignment: CPU preprocessing ahead of a model actor pool (open_clip)."""
