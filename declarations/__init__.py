"""What sellers and platforms file: declarations, item lines, documents, bulk upload, the filing API."""
