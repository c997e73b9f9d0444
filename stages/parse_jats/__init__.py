"""The parse_jats stage (``stage``) and its helpers: JATS text and metadata, licences, sentences."""
