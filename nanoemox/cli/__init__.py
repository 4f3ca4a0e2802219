"""Console entry points; each turns NanoEmoXError into one clear line and exit status 2."""
