"""GitHub deployment environments through PyGithub: read one, create or update it with its required
reviewers, set its variables and its secrets; and a commit's time, for the reports' lead time.

PyGithub does every call, including the libsodium sealed-box encryption of secret values with the
environment's public key (`Environment.create_secret`), so nothing here writes REST by hand. The token
and secret values are never part of a message: errors name the repository, environment and setting.
PyGithub (about 500 modules) is imported when an adapter is built: `pipeline generate` reads
GitHubEnvironmentState's module through core.pipeline and talks to no GitHub.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from core.errors import BadInput, OperationFailed

if TYPE_CHECKING:
    from github.EnvironmentProtectionRuleReviewer import ReviewerParams
    from github.Repository import Repository

_LOOPBACK = ("127.0.0.1", "localhost", "::1")
T = TypeVar("T")


@dataclass(frozen=True)
class GitHubEnvironmentState:
    """What GitHub holds for one environment: reviewers (login or org/slug), variables, secret names."""

    exists: bool
    reviewers: tuple[str, ...] = ()
    variables: dict[str, str] = field(default_factory=dict)
    secret_names: frozenset[str] = frozenset()


class GitHubAdapter:
    """One repository's deployment environments."""

    def __init__(self, repo: str, token: str, base_url: str = "https://api.github.com") -> None:
        from github import Auth, Github

        if "/" not in repo:
            raise BadInput("The GitHub repository is not set; give --repo owner/name or set [pipeline] repo.")
        self.repo_name = repo
        self._owner = repo.split("/", 1)[0]
        # PyGithub paces writes a second apart to respect GitHub's secondary rate limits; a loopback stand-in
        # (the tests') has none.
        pace = urlsplit(base_url).hostname not in _LOOPBACK
        self._github = Github(auth=Auth.Token(token), base_url=base_url, timeout=15,
                              seconds_between_requests=0.25 if pace else None,
                              seconds_between_writes=1.0 if pace else None)
        self._repo: Repository | None = None

    def _repository(self) -> Repository:
        if self._repo is None:
            self._repo = self._call(f"reading repository {self.repo_name}", self._github.get_repo, self.repo_name)
        return self._repo

    def _call(self, what: str, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        from github import GithubException, UnknownObjectException

        try:
            return function(*args, **kwargs)
        except UnknownObjectException:
            raise OperationFailed(f"GitHub answered 404 {what}: check the repository name and that the token "
                                  "may administer it.") from None
        except GithubException as exc:
            message = exc.data.get("message") if isinstance(exc.data, dict) else None
            raise OperationFailed(f"GitHub refused {what} (HTTP {exc.status}"
                                  f"{': ' + message if message else ''}).") from None

    def read_environment(self, name: str) -> GitHubEnvironmentState:
        from github import GithubException, UnknownObjectException
        from github.NamedUser import NamedUser
        from github.Team import Team

        repo = self._repository()
        try:
            environment = repo.get_environment(name)
            rules = environment.protection_rules  # the first read: a 404 here means no such environment
        except UnknownObjectException:
            return GitHubEnvironmentState(exists=False)
        except GithubException as exc:
            raise OperationFailed(f"GitHub refused reading environment {name} of {self.repo_name} "
                                  f"(HTTP {exc.status}).") from None
        reviewers: list[str] = []
        for rule in rules or ():
            if rule.type != "required_reviewers":
                continue
            for reviewer in rule.reviewers or ():
                who = reviewer.reviewer  # a NamedUser or a Team, as `reviewer.type` says
                if isinstance(who, NamedUser):
                    reviewers.append(who.login)
                elif isinstance(who, Team):
                    reviewers.append(f"{self._owner}/{who.slug}")
        variables = self._call(f"listing variables of environment {name}",
                               lambda: {v.name: v.value for v in environment.get_variables()})
        secrets = self._call(f"listing secrets of environment {name}",
                             lambda: frozenset(s.name for s in environment.get_secrets()))
        return GitHubEnvironmentState(True, tuple(sorted(reviewers)), variables, secrets)

    def _reviewer(self, reviewer: str) -> ReviewerParams:
        from github.EnvironmentProtectionRuleReviewer import ReviewerParams

        if "/" in reviewer:
            org, slug = reviewer.split("/", 1)
            team = self._call(f"looking up team {reviewer}",
                              lambda: self._github.get_organization(org).get_team_by_slug(slug))
            return ReviewerParams("Team", team.id)
        user = self._call(f"looking up user {reviewer}", self._github.get_user, reviewer)
        return ReviewerParams("User", user.id)

    def put_environment(self, name: str, reviewers: tuple[str, ...]) -> None:
        """Create or update the environment; `reviewers` replaces its required reviewers (none: no approval)."""
        params = [self._reviewer(r) for r in reviewers]
        self._call(f"creating or updating environment {name}", self._repository().create_environment, name,
                   reviewers=params)

    def set_variable(self, environment: str, name: str, value: str, *, exists: bool) -> None:
        env = self._repository().get_environment(environment)
        if exists:
            self._call(f"updating variable {name} of environment {environment}",
                       lambda: env.get_variable(name).edit(value))
        else:
            self._call(f"adding variable {name} to environment {environment}", env.create_variable, name, value)

    def set_secret(self, environment: str, name: str, value: str) -> None:
        """Encrypt `value` with the environment's public key (PyGithub, libsodium sealed box) and store it."""
        env = self._repository().get_environment(environment)
        self._call(f"setting secret {name} of environment {environment}", env.create_secret, name, value)

    def commit_time(self, sha: str) -> datetime:
        """When `sha` was committed: its committer date, from "Get a commit" (GET /repos/{owner}/{repo}/commits/
        {ref}, https://docs.github.com/en/rest/commits/commits#get-a-commit), which needs only read access."""
        commit = self._call(f"reading commit {sha[:12]} of {self.repo_name}", self._repository().get_commit, sha)
        moment = commit.commit.committer.date
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)

    def close(self) -> None:
        self._github.close()
