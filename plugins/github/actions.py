"""``github.create_issue``, ``github.add_comment`` and ``github.add_labels``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hub import Action, StepContext, StepError

from .api import call

REPO = r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$"


class _Target(BaseModel):
    model_config = ConfigDict(extra="forbid")

    repository: str = Field(pattern=REPO, title="Repository", examples=["octo-org/hello"],
                            description="`owner/name`.")


class _Issue(_Target):
    issue_number: int = Field(ge=1, title="Issue or pull request number")


class CreateIssueInput(_Target):
    title: str = Field(min_length=1, max_length=256, title="Title")
    body: str = Field("", max_length=65536, title="Body", description="Markdown.",
                      json_schema_extra={"format": "multiline"})
    labels: list[str] = Field(default_factory=list, max_length=100, title="Labels")
    assignees: list[str] = Field(default_factory=list, max_length=10, title="Assignees")


class IssueOutput(BaseModel):
    number: int = Field(title="Number")
    id: int = Field(title="Id")
    url: str = Field(title="Web URL")
    state: str = Field(title="State")


def _object(answer: Any) -> dict[str, Any]:
    if not isinstance(answer, dict):
        raise StepError("GitHub answered with an unexpected body", code="invalid_response",
                        retryable=False)
    return answer


class CreateIssue(Action):
    key = "create_issue"
    title = "Create an issue"
    description = "Opens an issue in a repository (POST /repos/{owner}/{repo}/issues)."
    Input = CreateIssueInput
    Output = IssueOutput

    async def run(self, payload: CreateIssueInput, ctx: StepContext) -> IssueOutput:
        body = payload.model_dump(exclude={"repository"})
        issue = _object(await call(ctx, "POST", f"/repos/{payload.repository}/issues", body))
        return IssueOutput(number=issue.get("number", 0), id=issue.get("id", 0),
                           url=issue.get("html_url", ""), state=issue.get("state", "open"))


class CommentInput(_Issue):
    body: str = Field(min_length=1, max_length=65536, title="Comment", description="Markdown.",
                      json_schema_extra={"format": "multiline"})


class CommentOutput(BaseModel):
    id: int = Field(title="Comment id")
    url: str = Field(title="Web URL")


class AddComment(Action):
    key = "add_comment"
    title = "Comment on an issue or pull request"
    description = "POST /repos/{owner}/{repo}/issues/{number}/comments."
    Input = CommentInput
    Output = CommentOutput

    async def run(self, payload: CommentInput, ctx: StepContext) -> CommentOutput:
        path = f"/repos/{payload.repository}/issues/{payload.issue_number}/comments"
        comment = _object(await call(ctx, "POST", path, {"body": payload.body}))
        return CommentOutput(id=comment.get("id", 0), url=comment.get("html_url", ""))


class LabelsInput(_Issue):
    labels: list[str] = Field(min_length=1, max_length=100, title="Labels",
                              description="Added to the existing ones (created if missing).")


class LabelsOutput(BaseModel):
    labels: list[str] = Field(title="All labels now on the issue")


class AddLabels(Action):
    key = "add_labels"
    title = "Add labels"
    description = "POST /repos/{owner}/{repo}/issues/{number}/labels."
    Input = LabelsInput
    Output = LabelsOutput

    async def run(self, payload: LabelsInput, ctx: StepContext) -> LabelsOutput:
        path = f"/repos/{payload.repository}/issues/{payload.issue_number}/labels"
        answer = await call(ctx, "POST", path, {"labels": payload.labels})
        if not isinstance(answer, list):
            raise StepError("GitHub answered with an unexpected body", code="invalid_response",
                            retryable=False)
        return LabelsOutput(labels=[str(i.get("name")) for i in answer if isinstance(i, dict)])
