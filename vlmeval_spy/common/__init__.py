"""What every stage shares: atomic file writes, the data errors that name file, item and field, and
the exit-status contract. Standard library only: `exit_status` is imported at every interpreter start."""
