"""Where outputs go and how they are read: local folders and fsspec URLs (storage), files read with errors that
name them, one writer per output (locks), restricted unpickling."""
