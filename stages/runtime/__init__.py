"""What every stage worker shares: the stage contract (``base``), its context, the crash guard,
metrics, the broadcast of one driver-made value, and the global stages built on it."""
