"""The DynamoDB table of the job path's records (`wordfreq_service.ports.JobRecord`).

One item per job, keyed by its ID; DynamoDB's TTL removes an item some time after its
`expires_at` (epoch seconds), and the service treats a record past it as gone already.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

# JobRecord's field names, as the job store writes them (a test keeps them in step).
PARTITION_KEY = "job_id"
TTL_ATTRIBUTE = "expires_at"


class JobTable(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(
                name=PARTITION_KEY, type=dynamodb.AttributeType.STRING
            ),
            time_to_live_attribute=TTL_ATTRIBUTE,
            # Jobs come in bursts and the service scales to zero: no capacity to pay for idle.
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            # Records live 7 days, as the uploads and results in the bucket they describe:
            # `cdk destroy` removes the table as it empties the bucket.
            removal_policy=RemovalPolicy.DESTROY,
        )
