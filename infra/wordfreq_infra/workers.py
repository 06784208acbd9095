"""Fargate workers that drain the work queue, scaled on its backlog down to zero tasks."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, IgnoreMode, RemovalPolicy, Stack
from aws_cdk import aws_applicationautoscaling as autoscaling
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_ecs_patterns as ecs_patterns
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from wordfreq_infra.config import WordfreqConfig

# The worker drains for 25 s after SIGTERM by default; ECS waits this long before SIGKILL.
STOP_TIMEOUT = Duration.seconds(30)
# Step scaling on ApproximateNumberOfMessagesVisible. The pattern's default starts a task
# only at a backlog of 100 messages, which with 0 running tasks leaves one upload waiting
# forever: here a single visible message starts a task, and an empty queue removes one.
SCALING_STEPS = [
    autoscaling.ScalingInterval(upper=0, change=-1),
    autoscaling.ScalingInterval(lower=1, change=+1),
    autoscaling.ScalingInterval(lower=20, change=+2),
    autoscaling.ScalingInterval(lower=100, change=+5),
]


class Workers(Construct):
    """Runs the worker image (`wordfreq worker --backend aws`) as a Fargate service."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: WordfreqConfig,
        work_queue: sqs.IQueue,
        result_queue: sqs.IQueue,
        source_dir: Path,
    ) -> None:
        super().__init__(scope, construct_id)
        # Public subnets and no NAT gateway: the tasks accept no inbound traffic and reach
        # SQS, ECR and CloudWatch over the internet gateway, S3 over a (free) gateway endpoint.
        self.vpc = vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC)
            ],
        )
        vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)
        self.cluster = ecs.Cluster(
            self, "Cluster", vpc=vpc, container_insights_v2=ecs.ContainerInsights.ENABLED
        )
        self.task_definition = ecs.FargateTaskDefinition(
            self,
            "Task",
            cpu=config.task_cpu,
            memory_limit_mib=config.task_memory_mib,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.X86_64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
        )
        self.task_definition.add_container(
            "worker",
            image=ecs.ContainerImage.from_asset(
                str(source_dir),
                file="Dockerfile",
                platform=ecr_assets.Platform.LINUX_AMD64,
                # Only what `.dockerignore` lets through is hashed, staged and sent to Docker.
                ignore_mode=IgnoreMode.DOCKER,
            ),
            environment={
                "WORKER_QUEUE_URL": work_queue.queue_url,
                "WORKER_RESULT_QUEUE_URL": result_queue.queue_url,
                "AWS_REGION": Stack.of(self).region,
                "WORKER_DEBUG": "1" if config.worker_debug else "0",
            },
            logging=ecs.LogDrivers.aws_logs(
                stream_prefix="worker", log_group=self._log_group(config.log_retention_days)
            ),
            stop_timeout=STOP_TIMEOUT,
        )
        self.service = ecs_patterns.QueueProcessingFargateService(
            self,
            "Service",
            cluster=self.cluster,
            queue=work_queue,
            task_definition=self.task_definition,
            assign_public_ip=True,
            task_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            min_scaling_capacity=0,
            max_scaling_capacity=config.max_tasks,
            scaling_steps=SCALING_STEPS,
            # CPU-target scaling would stop tasks that wait on S3/SQS with busy jobs in hand.
            disable_cpu_based_scaling=True,
            min_healthy_percent=100,
            max_healthy_percent=200,
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
        )

    def _log_group(self, retention_days: int) -> logs.LogGroup:
        group = logs.LogGroup(self, "Logs", removal_policy=RemovalPolicy.DESTROY)
        # The L2 takes a RetentionDays enum whose Python members carry names, not day counts;
        # the number is validated by WordfreqConfig and set on the CloudFormation resource.
        cfn_group = group.node.default_child
        assert isinstance(cfn_group, logs.CfnLogGroup)
        cfn_group.retention_in_days = retention_days
        return group
