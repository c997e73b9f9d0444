"""``figcurate eval``: panels against a demo corpus's truth and real gold, subcaptions against
real annotations, and the fixed development and check parts of every gold set."""
