"""Extraction: decode each clip once, crop faces, run the frozen encoders once, write WebDataset shards."""
