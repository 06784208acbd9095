"""Fargate workers that drain the work queue, scaled on its backlog down to zero tasks."""

from __future__ import annotations

import math
from pathlib import Path

from aws_cdk import Duration, Stack
from aws_cdk import aws_applicationautoscaling as autoscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from wordfreq_service.api.settings import WORKER_JOB_TABLE_ENV
from wordfreq_service.ports import MAX_LONG_POLL_S
from wordfreq_service.service.shutdown import longest_drain
from wordfreq_service.service.worker.settings import SPLIT_THRESHOLD_ENV

from wordfreq_infra.config import WordfreqConfig
from wordfreq_infra.image import WORKER_TARGET, asset_options
from wordfreq_infra.lambda_logs import retained_log_group

# ECS waits this long after SIGTERM before it kills the container (Fargate's maximum).
STOP_TIMEOUT = Duration.seconds(120)
# The worker's drain (`WORKER_DRAIN_SECONDS`): the longest whose whole shutdown (its receive
# or its drain, handing messages back, task protection off, exit) still ends before SIGKILL,
# by the worker's own figures. It receives with the longest long poll, as on AWS by default.
DRAIN_SECONDS = math.floor(longest_drain(STOP_TIMEOUT.to_seconds(), MAX_LONG_POLL_S))

# Scaling looks at the work queue's backlog: messages waiting (visible) plus messages a worker
# holds (in flight, invisible; a worker process takes up to 10 at a time). On visible messages
# alone, busy tasks looked idle: scale-in stopped them mid-job and scale-out stalled while
# every message sat in a worker's hands.
BACKLOG_EXPRESSION = "visible + inFlight"
SCALING_PERIOD = Duration.minutes(1)
# Step scaling on the backlog, bounds in messages: from 0 tasks, one message starts a task
# (ecs_patterns' default, a task at 100 messages, left a lone upload waiting forever); while
# the backlog lasts, another task (more for a large one) is added each cooldown, up to
# maxTasks, since the alarm invokes its scaling action again every period it stays on.
SCALE_OUT_STEPS = [
    autoscaling.ScalingInterval(lower=1, upper=20, change=+1),
    autoscaling.ScalingInterval(lower=20, upper=100, change=+2),
    autoscaling.ScalingInterval(lower=100, change=+5),
]
# Long enough for a new task to start and take work before the next step.
SCALE_OUT_COOLDOWN = Duration.minutes(2)
# One task fewer once nothing has been waiting *or in flight* for this many minutes in a
# row, then one more each cooldown: an idle service winds down to zero tasks.
SCALE_IN_IDLE_MINUTES = 5
SCALE_IN_COOLDOWN = Duration.minutes(5)


class Workers(Construct):
    """Runs the worker image (`wordfreq worker --backend aws`) as a Fargate service.

    A plain FargateService rather than ecs_patterns.QueueProcessingFargateService: the pattern
    scales on visible messages only, with one cooldown for both directions.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: WordfreqConfig,
        work_queue: sqs.IQueue,
        result_queue: sqs.IQueue,
        job_table: dynamodb.ITable,
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
            image=ecs.ContainerImage.from_asset(str(source_dir), **asset_options(WORKER_TARGET)),
            environment={
                "WORKER_QUEUE_URL": work_queue.queue_url,
                "WORKER_RESULT_QUEUE_URL": result_queue.queue_url,
                # Job-path uploads: the worker records their results in the job table.
                WORKER_JOB_TABLE_ENV: job_table.table_name,
                "AWS_REGION": Stack.of(self).region,
                "WORKER_DEBUG": "1" if config.worker_debug else "0",
                # No WORKER_VISIBILITY_TIMEOUT: the workers read the work queue's own.
                "WORKER_DRAIN_SECONDS": str(DRAIN_SECONDS),
                SPLIT_THRESHOLD_ENV: str(config.split_threshold_bytes),
            },
            logging=ecs.LogDrivers.aws_logs(
                stream_prefix="worker",
                log_group=retained_log_group(self, "Logs", config.log_retention_days),
            ),
            stop_timeout=STOP_TIMEOUT,
        )
        self.service = ecs.FargateService(
            self,
            "Service",
            cluster=self.cluster,
            task_definition=self.task_definition,
            assign_public_ip=True,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            min_healthy_percent=100,
            max_healthy_percent=200,
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
        )
        work_queue.grant_consume_messages(self.task_definition.task_role)
        self._scale_on_backlog(work_queue, max_tasks=config.max_tasks)

    def _scale_on_backlog(self, work_queue: sqs.IQueue, *, max_tasks: int) -> None:
        """Step scaling between 0 and `max_tasks` tasks on the work queue's backlog, with a
        policy (and cooldown) of its own for scaling out and for scaling in. No CPU target:
        it would stop tasks that wait on S3 or SQS with a job in hand."""
        stack = Stack.of(self)
        self.scaling_target = target = autoscaling.ScalableTarget(
            self,
            "Scaling",
            service_namespace=autoscaling.ServiceNamespace.ECS,
            resource_id=f"service/{self.cluster.cluster_name}/{self.service.service_name}",
            scalable_dimension="ecs:service:DesiredCount",
            min_capacity=0,
            max_capacity=max_tasks,
            # Application Auto Scaling's service-linked role for ECS, as ECS's own
            # `auto_scale_task_count` uses (a role of the stack's own would be created).
            role=iam.Role.from_role_arn(
                self,
                "ScalingRole",
                stack.format_arn(
                    region="",
                    service="iam",
                    resource="role/aws-service-role/ecs.application-autoscaling.amazonaws.com",
                    resource_name="AWSServiceRoleForApplicationAutoScaling_ECSService",
                ),
            ),
        )
        self.backlog = backlog = cloudwatch.MathExpression(
            expression=BACKLOG_EXPRESSION,
            using_metrics={
                "visible": work_queue.metric_approximate_number_of_messages_visible(
                    statistic=cloudwatch.Stats.MAXIMUM
                ),
                "inFlight": work_queue.metric_approximate_number_of_messages_not_visible(
                    statistic=cloudwatch.Stats.MAXIMUM
                ),
            },
            label="Work queue backlog (waiting + in flight)",
            period=SCALING_PERIOD,
        )

        scale_out = autoscaling.StepScalingAction(
            self,
            "ScaleOut",
            scaling_target=target,
            adjustment_type=autoscaling.AdjustmentType.CHANGE_IN_CAPACITY,
            cooldown=SCALE_OUT_COOLDOWN,
            metric_aggregation_type=autoscaling.MetricAggregationType.MAXIMUM,
        )
        threshold = SCALE_OUT_STEPS[0].lower
        assert threshold is not None
        for step in SCALE_OUT_STEPS:
            # Step bounds are relative to the alarm's threshold.
            assert step.lower is not None
            scale_out.add_adjustment(
                adjustment=step.change,
                lower_bound=step.lower - threshold,
                upper_bound=None if step.upper is None else step.upper - threshold,
            )
        self.scale_out_alarm = cloudwatch.Alarm(
            self,
            "BacklogAlarm",
            alarm_description="Scale the workers out: the work queue has messages",
            metric=backlog,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            threshold=threshold,
            evaluation_periods=1,
        )
        self.scale_out_alarm.add_alarm_action(
            cloudwatch_actions.ApplicationScalingAction(scale_out)
        )

        scale_in = autoscaling.StepScalingAction(
            self,
            "ScaleIn",
            scaling_target=target,
            adjustment_type=autoscaling.AdjustmentType.CHANGE_IN_CAPACITY,
            cooldown=SCALE_IN_COOLDOWN,
            metric_aggregation_type=autoscaling.MetricAggregationType.MAXIMUM,
        )
        scale_in.add_adjustment(adjustment=-1, upper_bound=0)
        self.scale_in_alarm = cloudwatch.Alarm(
            self,
            "IdleAlarm",
            alarm_description=(
                "Scale the workers in: no message waiting or in flight on the work queue"
                f" for {SCALE_IN_IDLE_MINUTES} minutes"
            ),
            metric=backlog,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD,
            threshold=0,
            evaluation_periods=SCALE_IN_IDLE_MINUTES,
            datapoints_to_alarm=SCALE_IN_IDLE_MINUTES,
        )
        self.scale_in_alarm.add_alarm_action(cloudwatch_actions.ApplicationScalingAction(scale_in))
