"""Where and how code runs: the Ray cluster, torch devices, model weights from the hub or a folder, progress bars."""
