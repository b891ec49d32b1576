"""Who a check asks about: a user (with groups), a service account, or a group."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from labrunner.lab.fields import NonEmptyStr
from labrunner.topics.rbac.model import AUTHENTICATED_GROUP, SERVICE_ACCOUNT_PREFIX, SERVICE_ACCOUNTS_GROUP

ServiceAccountRef = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?:[a-z0-9]([-.a-z0-9]*[a-z0-9])?$")]


class SubjectArgs(BaseModel):
    """``user`` (and its ``groups``), ``serviceaccount: NAMESPACE:NAME``, or ``groups`` alone."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, use_attribute_docstrings=True)

    user: NonEmptyStr | None = None
    """A user name, as a client certificate's CN or ``--as`` gives it."""
    groups: list[NonEmptyStr] = Field(default_factory=list)
    """Groups the user is in (a certificate's O), or the group asked about."""
    serviceaccount: ServiceAccountRef | None = None
    """``NAMESPACE:NAME``: the service account's own user name and groups are used."""

    @model_validator(mode="after")
    def _one_subject(self) -> SubjectArgs:
        if self.user and self.serviceaccount:
            raise ValueError("give user or serviceaccount, not both")
        if not (self.user or self.serviceaccount or self.groups):
            raise ValueError("give user, serviceaccount (NAMESPACE:NAME) or groups")
        return self

    def identity(self) -> tuple[str, tuple[str, ...]]:
        """The user name and groups the API server would authenticate this subject as."""
        if self.serviceaccount:
            namespace, _, _ = self.serviceaccount.partition(":")
            return (SERVICE_ACCOUNT_PREFIX + self.serviceaccount,
                    (SERVICE_ACCOUNTS_GROUP, f"{SERVICE_ACCOUNTS_GROUP}:{namespace}", *self.groups, AUTHENTICATED_GROUP))
        return self.user or "", (*self.groups, AUTHENTICATED_GROUP)

    def describe(self) -> str:
        if self.serviceaccount:
            return "ServiceAccount " + self.serviceaccount.replace(":", "/", 1)
        groups = ", ".join(self.groups)
        if not self.user:
            return f"the group{'s' if len(self.groups) > 1 else ''} {groups}"
        return f"User {self.user}" + (f" (groups {groups})" if groups else "")
