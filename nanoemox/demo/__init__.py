"""The embedded default: a generated corpus in real datasets' formats, and the whole pipeline run on it."""
