"""Batch scoring: generate answers for the clips of a shard split, one JSON line per clip and task."""
