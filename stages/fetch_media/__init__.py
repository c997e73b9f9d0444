"""The fetch_media stage (``stage``) and its PDF fallback for figures (``pdf_figures``)."""
