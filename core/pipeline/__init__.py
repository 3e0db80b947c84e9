"""The CI/CD pipeline: GitHub Actions workflows generated from the configuration for the application
repository, and the GitHub environments (reviewers, variables, secrets) they deploy through."""

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
    PR_WORKFLOW,
    RELEASE_WORKFLOW,
    FileDifference,
    check_files,
    generate_files,
    write_files,
)
from core.pipeline.install import REQUIREMENTS_FILE
from core.pipeline.release import build_release_workflow
from core.pipeline.workflow import PIPELINE_ENVIRONMENTS, build_pr_workflow, deploy_command

__all__ = [
    "GENERATE_COMMAND",
    "PIPELINE_ENVIRONMENTS",
    "PR_WORKFLOW",
    "RELEASE_WORKFLOW",
    "REQUIREMENTS_FILE",
    "Change",
    "DesiredEnvironment",
    "FileDifference",
    "PipelinePlan",
    "build_pr_workflow",
    "build_release_workflow",
    "check_files",
    "configure_deployment_pipeline",
    "deploy_command",
    "desired_environment",
    "generate_files",
    "plan_changes",
    "write_files",
]
