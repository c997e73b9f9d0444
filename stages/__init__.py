"""The stages of the flow, one module or package each; io/ (sources and stores) and runtime/ (what
every worker shares) beside them. docs/architecture.md, "Where things live", has the map."""
