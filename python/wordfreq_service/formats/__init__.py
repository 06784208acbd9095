"""The wire formats, each owned by one module: the job request (options, object metadata,
API JSON), S3 event messages in, result messages out."""
