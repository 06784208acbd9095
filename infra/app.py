#!/usr/bin/env python3
"""CDK entry point (`cdk synth`, `cdk deploy` run it through cdk.json's "app")."""

from aws_cdk import App
from wordfreq_infra import build_app

app = App()
build_app(app)
app.synth()
