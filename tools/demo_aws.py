"""`make demo-aws`: the AWS path end to end, against a local S3/SQS emulator.

Starts moto's server on loopback, creates the stack's resources, runs
`wordfreq worker --backend aws` configured only through the seed's environment variables,
and submits the file with the seed's uploader flags and the submitter role (and
English stop words dropped, as `make demo` does).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tools.local_aws import client_env, create_aws_stack, moto_server


def main() -> int:
    sample = sys.argv[1] if len(sys.argv) > 1 else "samples/snelling-photography.txt"
    wordfreq = str(Path(sys.executable).with_name("wordfreq"))
    with moto_server() as endpoint:
        env = {**os.environ, **client_env(endpoint)}
        os.environ.update(env)
        stack = create_aws_stack(endpoint)
        print(
            f"emulator on {endpoint}: bucket {stack.bucket}, queues and role created",
            file=sys.stderr,
        )
        worker_env = {
            **env,
            "WORKER_QUEUE_URL": stack.work_queue_url,
            "WORKER_RESULT_QUEUE_URL": stack.result_queue_url,
        }
        worker = subprocess.Popen(
            [wordfreq, "worker", "--backend", "aws", "--concurrency", "1", "--poll-seconds", "2"],
            env=worker_env,
            stderr=subprocess.DEVNULL,
        )
        try:
            submit = subprocess.run(
                [
                    wordfreq, "submit",
                    "-bucket", stack.bucket,
                    "-queueUrl", stack.result_queue_url,
                    "-submitterRole", stack.submit_role_arn,
                    "--stopwords", "english", "--timeout", "120", sample,
                ],
                env=env,
            )  # fmt: skip
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(60)
        return submit.returncode


if __name__ == "__main__":
    sys.exit(main())
