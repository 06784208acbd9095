"""The Fargate workers: task definition, service, logs and queue-driven scaling."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Match, Template
from infra_support import Resources, find, get_att, only

FOUR_DAYS = 345_600


def test_task_definition_size_env_logs_and_stop_timeout(resources: Resources) -> None:
    work_id, _ = only(resources, "AWS::SQS::Queue", MessageRetentionPeriod=FOUR_DAYS)
    results_id, _ = only(resources, "AWS::SQS::Queue", MessageRetentionPeriod=7_200)
    log_group_id, log_group = only(resources, "AWS::Logs::LogGroup")
    _, task = only(resources, "AWS::ECS::TaskDefinition")
    # cdk.json: taskCpu 512, taskMemoryMiB 1024, logRetentionDays 30.
    assert (task["Cpu"], task["Memory"]) == ("512", "1024")
    assert task["RequiresCompatibilities"] == ["FARGATE"]
    assert log_group["RetentionInDays"] == 30
    assert resources[log_group_id]["DeletionPolicy"] == "Delete"
    [container] = task["ContainerDefinitions"]
    assert {e["Name"]: e["Value"] for e in container["Environment"]} == {
        "WORKER_QUEUE_URL": {"Ref": work_id},
        "WORKER_RESULT_QUEUE_URL": {"Ref": results_id},
        "AWS_REGION": {"Ref": "AWS::Region"},
        "WORKER_DEBUG": "0",
    }
    # The worker drains for 25 s after SIGTERM; ECS must wait longer before SIGKILL.
    assert 25 < container["StopTimeout"] <= 120
    assert container["LogConfiguration"]["LogDriver"] == "awslogs"
    assert container["LogConfiguration"]["Options"]["awslogs-group"] == {"Ref": log_group_id}
    assert "Secrets" not in container


def test_service_runs_the_task_on_fargate_in_the_stack_cluster(resources: Resources) -> None:
    cluster_id, cluster = only(resources, "AWS::ECS::Cluster")
    task_id, _ = only(resources, "AWS::ECS::TaskDefinition")
    _, service = only(resources, "AWS::ECS::Service")
    assert service["Cluster"] == {"Ref": cluster_id}
    assert service["TaskDefinition"] == {"Ref": task_id}
    assert service["LaunchType"] == "FARGATE"
    assert service["DeploymentConfiguration"]["DeploymentCircuitBreaker"]["Rollback"] is True
    assert {"Name": "containerInsights", "Value": "enabled"} in cluster["ClusterSettings"]
    # The tasks accept no inbound traffic.
    [security_group] = service["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"]
    group = resources[security_group["Fn::GetAtt"][0]]["Properties"]
    assert "SecurityGroupIngress" not in group
    assert not find(resources, "AWS::EC2::SecurityGroupIngress")


def test_service_scales_between_zero_and_max_tasks(template: Template) -> None:
    template.resource_count_is("AWS::ApplicationAutoScaling::ScalableTarget", 1)
    template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalableTarget",
        {"MinCapacity": 0, "MaxCapacity": 4, "ScalableDimension": "ecs:service:DesiredCount"},
    )


def _queue_alarm(resources: Resources, work_id: str, operator: str) -> dict[str, Any]:
    _, alarm = only(
        resources,
        "AWS::CloudWatch::Alarm",
        MetricName="ApproximateNumberOfMessagesVisible",
        ComparisonOperator=operator,
    )
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": get_att(work_id, "QueueName")}]
    return alarm


def test_one_visible_message_starts_a_task(resources: Resources) -> None:
    """The pattern's default steps scale out only at 100 messages: one upload would wait
    forever with zero tasks running."""
    work_id, _ = only(resources, "AWS::SQS::Queue", MessageRetentionPeriod=FOUR_DAYS)
    alarm = _queue_alarm(resources, work_id, "GreaterThanOrEqualToThreshold")
    assert alarm["Threshold"] == 1
    [action] = alarm["AlarmActions"]
    policy = resources[action["Ref"]]["Properties"]
    assert policy["PolicyType"] == "StepScaling"
    config = policy["StepScalingPolicyConfiguration"]
    assert config["AdjustmentType"] == "ChangeInCapacity"
    # Step bounds are relative to the alarm threshold: the first step covers 1 message.
    first = min(config["StepAdjustments"], key=lambda s: s["MetricIntervalLowerBound"])
    assert first["MetricIntervalLowerBound"] == 0
    assert first["ScalingAdjustment"] >= 1


def test_an_empty_queue_removes_tasks(resources: Resources) -> None:
    work_id, _ = only(resources, "AWS::SQS::Queue", MessageRetentionPeriod=FOUR_DAYS)
    alarm = _queue_alarm(resources, work_id, "LessThanOrEqualToThreshold")
    assert alarm["Threshold"] == 0
    [action] = alarm["AlarmActions"]
    config = resources[action["Ref"]]["Properties"]["StepScalingPolicyConfiguration"]
    assert config["StepAdjustments"] == [{"MetricIntervalUpperBound": 0, "ScalingAdjustment": -1}]


def test_no_cpu_target_tracking(template: Template) -> None:
    """CPU-target scaling would stop tasks that wait on I/O in the middle of a job."""
    template.resource_properties_count_is(
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        {"PolicyType": "TargetTrackingScaling"},
        0,
    )
    template.resource_properties_count_is(
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        {"TargetTrackingScalingPolicyConfiguration": Match.any_value()},
        0,
    )
    template.resource_count_is("AWS::ApplicationAutoScaling::ScalingPolicy", 2)
