"""The backends behind the ports; the only code that knows which one runs.

* :mod:`wordfreq_service.adapters.embedded` — files and SQLite in one data directory, no server:
  ``open_embedded(data_dir)``.
* :mod:`wordfreq_service.adapters.aws` — S3, SQS, DynamoDB and STS through boto3:
  ``open_aws(bucket=..., work_queue_url=..., result_queue_url=..., job_table=...)``.

Import the one you need from its package: loading one never loads the other.
"""
