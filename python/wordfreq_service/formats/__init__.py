"""The wire formats, each owned by one module: S3 event messages in, result messages out."""
