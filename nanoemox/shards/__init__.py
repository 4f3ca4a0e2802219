"""The shard contract between extraction and training: WebDataset tars of float16 features plus index.json."""
