"""The CI/CD pipeline: GitHub Actions workflows generated from the configuration, and the GitHub
environments (reviewers, variables, secrets) they deploy through."""

from core.pipeline.configure import (
    Change,
    DesiredEnvironment,
    PipelinePlan,
    configure_deployment_pipeline,
    desired_environment,
    plan_changes,
)
from core.pipeline.files import (
    GENERATE_COMMAND,
    FileDifference,
    check_workflows,
    generate_workflows,
    workflow_path,
    write_workflows,
)
from core.pipeline.workflow import PIPELINE_ENVIRONMENTS, build_workflow, deploy_command

__all__ = [
    "GENERATE_COMMAND",
    "PIPELINE_ENVIRONMENTS",
    "Change",
    "DesiredEnvironment",
    "FileDifference",
    "PipelinePlan",
    "build_workflow",
    "check_workflows",
    "configure_deployment_pipeline",
    "deploy_command",
    "desired_environment",
    "generate_workflows",
    "plan_changes",
    "workflow_path",
    "write_workflows",
]
