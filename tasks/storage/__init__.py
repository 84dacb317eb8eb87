"""Object storage (S3 through boto3, or a local folder) and the tasks that store a document's files."""
