"""What sellers and platforms file: declarations, item lines, documents, bulk upload and the
filing API."""
