"""The Fargate workers: task definition, service, logs and queue-driven scaling."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk.assertions import Match, Template
from infra_support import Resources, find, get_att, only, worker_log_group
from wordfreq_service.api.settings import WORKER_JOB_TABLE_ENV
from wordfreq_service.ports import MAX_LONG_POLL_S
from wordfreq_service.service.shutdown import shutdown_bound

FOUR_DAYS = 345_600
README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_task_definition_size_env_logs_and_stop_timeout(resources: Resources) -> None:
    work_id, _ = only(resources, "AWS::SQS::Queue", MessageRetentionPeriod=FOUR_DAYS)
    results_id, _ = only(resources, "AWS::SQS::Queue", MessageRetentionPeriod=7_200)
    table_id, _ = only(resources, "AWS::DynamoDB::Table")
    log_group_id, log_group = worker_log_group(resources)
    _, task = only(resources, "AWS::ECS::TaskDefinition")
    # cdk.json: taskCpu 512, taskMemoryMiB 1024, logRetentionDays 30.
    assert (task["Cpu"], task["Memory"]) == ("512", "1024")
    assert task["RequiresCompatibilities"] == ["FARGATE"]
    assert log_group["RetentionInDays"] == 30
    assert resources[log_group_id]["DeletionPolicy"] == "Delete"
    [container] = task["ContainerDefinitions"]
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert env == {
        "WORKER_QUEUE_URL": {"Ref": work_id},
        "WORKER_RESULT_QUEUE_URL": {"Ref": results_id},
        # Where a job-path upload's result goes.
        WORKER_JOB_TABLE_ENV: {"Ref": table_id},
        "AWS_REGION": {"Ref": "AWS::Region"},
        "WORKER_DEBUG": "0",
        "WORKER_DRAIN_SECONDS": env["WORKER_DRAIN_SECONDS"],
        # Objects past it are split into ranges for every task: 256 MiB unless set.
        "WORKER_SPLIT_THRESHOLD": str(256 << 20),
    }
    assert container["StopTimeout"] == 120
    assert container["LogConfiguration"]["LogDriver"] == "awslogs"
    assert container["LogConfiguration"]["Options"]["awslogs-group"] == {"Ref": log_group_id}
    assert "Secrets" not in container


def test_workers_receive_with_the_work_queue_visibility_timeout(resources: Resources) -> None:
    """One figure: the work queue's. The workers read it from the queue (they may: reading
    queue attributes is part of consuming) instead of overriding it with a second one."""
    _, work = only(resources, "AWS::SQS::Queue", MessageRetentionPeriod=FOUR_DAYS)
    assert work["VisibilityTimeout"] == 90  # cdk.json
    _, task = only(resources, "AWS::ECS::TaskDefinition")
    [container] = task["ContainerDefinitions"]
    assert "WORKER_VISIBILITY_TIMEOUT" not in {e["Name"] for e in container["Environment"]}


def test_worker_shutdown_fits_inside_the_stop_timeout(resources: Resources) -> None:
    """ECS sends SIGTERM, then SIGKILL after StopTimeout: by the worker's own figures, its
    whole shutdown (the drain or the 20 s receive, handing messages back, task protection
    off) ends before."""
    _, task = only(resources, "AWS::ECS::TaskDefinition")
    [container] = task["ContainerDefinitions"]
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    drain = float(env["WORKER_DRAIN_SECONDS"])
    assert shutdown_bound(drain, MAX_LONG_POLL_S) <= container["StopTimeout"]
    # Not needlessly short either: long jobs get most of the time ECS gives.
    assert drain >= container["StopTimeout"] / 2
    assert f"up to {drain:g} s on SIGTERM" in README  # and the README says so


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


def _backlog_alarms(resources: Resources) -> dict[str, dict[str, Any]]:
    """The scaling alarms, by comparison operator."""
    alarms = {}
    for alarm in find(resources, "AWS::CloudWatch::Alarm").values():
        [action] = alarm["AlarmActions"]
        target = resources.get(action.get("Ref", ""), {})
        if target.get("Type") == "AWS::ApplicationAutoScaling::ScalingPolicy":
            assert alarm["ComparisonOperator"] not in alarms
            alarms[alarm["ComparisonOperator"]] = alarm
    return alarms


def _policy(resources: Resources, alarm: dict[str, Any]) -> dict[str, Any]:
    [action] = alarm["AlarmActions"]
    policy: dict[str, Any] = resources[action["Ref"]]["Properties"]
    assert policy["PolicyType"] == "StepScaling"
    return policy


def test_scaling_alarms_watch_waiting_plus_in_flight_messages(resources: Resources) -> None:
    """Messages a worker holds are invisible: counted with the visible ones, a busy task is
    never taken for idle, and scale-out goes on while workers hold the whole backlog."""
    work_id, _ = only(resources, "AWS::SQS::Queue", MessageRetentionPeriod=FOUR_DAYS)
    dimensions = [{"Name": "QueueName", "Value": get_att(work_id, "QueueName")}]
    alarms = _backlog_alarms(resources)
    assert set(alarms) == {"GreaterThanOrEqualToThreshold", "LessThanOrEqualToThreshold"}
    for alarm in alarms.values():
        assert "MetricName" not in alarm
        metrics = {m["Id"]: m for m in alarm["Metrics"]}
        [expression] = [m for m in metrics.values() if "Expression" in m]
        assert expression["ReturnData"] is True
        terms = expression["Expression"].replace(" ", "").split("+")
        assert {metrics[t]["MetricStat"]["Metric"]["MetricName"] for t in terms} == {
            "ApproximateNumberOfMessagesVisible",
            "ApproximateNumberOfMessagesNotVisible",
        }
        assert len(terms) == 2 == len(metrics) - 1
        for term in terms:
            stat = metrics[term]["MetricStat"]
            assert stat["Metric"]["Namespace"] == "AWS/SQS"
            assert stat["Metric"]["Dimensions"] == dimensions
            assert (stat["Period"], stat["Stat"]) == (60, "Maximum")
            assert metrics[term]["ReturnData"] is False


def test_one_message_starts_a_task_and_a_backlog_adds_more(resources: Resources) -> None:
    """From zero tasks, a single upload starts one (a threshold of 100, the ECS pattern's
    default, left it waiting forever); larger backlogs add tasks faster."""
    alarm = _backlog_alarms(resources)["GreaterThanOrEqualToThreshold"]
    assert (alarm["Threshold"], alarm["EvaluationPeriods"]) == (1, 1)
    config = _policy(resources, alarm)["StepScalingPolicyConfiguration"]
    assert config["AdjustmentType"] == "ChangeInCapacity"
    # Step bounds are relative to the threshold: 1-19 messages, 20-99, 100 and more.
    assert config["StepAdjustments"] == [
        {"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 19, "ScalingAdjustment": 1},
        {"MetricIntervalLowerBound": 19, "MetricIntervalUpperBound": 99, "ScalingAdjustment": 2},
        {"MetricIntervalLowerBound": 99, "ScalingAdjustment": 5},
    ]
    assert config["Cooldown"] == 120
    assert config["MetricAggregationType"] == "Maximum"


def test_tasks_are_removed_only_when_nothing_waits_or_runs(resources: Resources) -> None:
    alarm = _backlog_alarms(resources)["LessThanOrEqualToThreshold"]
    # Waiting + in flight <= 0, for five minutes in a row.
    assert alarm["Threshold"] == 0
    assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (5, 5)
    config = _policy(resources, alarm)["StepScalingPolicyConfiguration"]
    assert config["AdjustmentType"] == "ChangeInCapacity"
    assert config["StepAdjustments"] == [{"MetricIntervalUpperBound": 0, "ScalingAdjustment": -1}]
    assert config["Cooldown"] == 300
    # Only this policy removes tasks.
    [scale_in] = alarm["AlarmActions"]
    for policy_id, policy in find(resources, "AWS::ApplicationAutoScaling::ScalingPolicy").items():
        if policy_id != scale_in["Ref"]:
            steps = policy["StepScalingPolicyConfiguration"]["StepAdjustments"]
            assert all(step["ScalingAdjustment"] > 0 for step in steps)


def test_both_scaling_policies_act_on_the_service(resources: Resources) -> None:
    target_id, target = only(resources, "AWS::ApplicationAutoScaling::ScalableTarget")
    service_id, _ = only(resources, "AWS::ECS::Service")
    assert {"Fn::GetAtt": [service_id, "Name"]} in target["ResourceId"]["Fn::Join"][1]
    assert target["RoleARN"]["Fn::Join"][1][-1].endswith(
        "/AWSServiceRoleForApplicationAutoScaling_ECSService"
    )
    for alarm in _backlog_alarms(resources).values():
        assert _policy(resources, alarm)["ScalingTargetId"] == {"Ref": target_id}


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
