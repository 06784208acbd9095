"""CDK constructs of the wordfreq service: uploads bucket, queues, Fargate workers, job table,
job API, access."""

from wordfreq_infra.app import build_app
from wordfreq_infra.config import WordfreqConfig
from wordfreq_infra.stack import WordfreqStack

__all__ = ["WordfreqConfig", "WordfreqStack", "build_app"]
