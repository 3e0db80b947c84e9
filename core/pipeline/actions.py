"""The third-party actions the generated workflows use, each pinned to a full commit SHA with its release.

A tag (`@v4`) can be moved to other code by whoever controls the action's repository, and that code would
run with deployment credentials; a commit SHA cannot. The version is kept beside it so `uses:` carries a
`# vX.Y.Z` comment a reviewer (or Dependabot) can read.

These SHAs were taken from public repositories that pin the same release (found offline, without GitHub's
API): before relying on them, check each with `git ls-remote https://github.com/OWNER/REPO refs/tags/VERSION`
(for an annotated tag, the `^{}` line) and update the table, never the generated files.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PinnedAction:
    repo: str  # owner/name
    sha: str  # the full 40-hex commit the release tag points to
    version: str  # the release tag, shown in the `uses:` comment

    @property
    def uses(self) -> str:
        return f"{self.repo}@{self.sha}"


CHECKOUT = PinnedAction("actions/checkout", "11bd71901bbe5b1630ceea73d27597364c9af683", "v4.2.2")
SETUP_NODE = PinnedAction("actions/setup-node", "49933ea5288caeca8642d1e84afbd3f7d6820020", "v4.4.0")
SETUP_PYTHON = PinnedAction("actions/setup-python", "a26af69be951a213d495a4c3e4e4022e16d87065", "v5.6.0")
GCP_AUTH = PinnedAction("google-github-actions/auth", "ba79af03959ebeac9769e648f473a284504d9193", "v2.1.10")
SETUP_GCLOUD = PinnedAction("google-github-actions/setup-gcloud", "77e7a554d41e2ee56fc945c52dfd3f33d12def9a", "v2.1.4")
GCP_SECRETS = PinnedAction("google-github-actions/get-secretmanager-secrets",
                           "bc9c54b29fdffb8a47776820a7d26e77b379d262", "v3.0.0")
TRIVY = PinnedAction("aquasecurity/trivy-action", "915b19bbe73b92a6cf82a1bc12b087c9a19a5fe2", "0.28.0")
SLACK = PinnedAction("slackapi/slack-github-action", "b0fa283ad8fea605de13dc3f449259339835fc52", "v2.1.0")

PINNED: dict[str, PinnedAction] = {action.uses: action for action in
                                   (CHECKOUT, SETUP_NODE, SETUP_PYTHON, GCP_AUTH, SETUP_GCLOUD, GCP_SECRETS, TRIVY,
                                    SLACK)}
"""`uses:` value -> its pin; the renderer writes each one's version as a comment after it."""
