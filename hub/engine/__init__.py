"""The run engine: the runs table is the queue; workers claim, execute and checkpoint."""
