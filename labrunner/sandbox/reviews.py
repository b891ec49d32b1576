"""Reviews: questions to the API server, answered and never stored.

- ``SelfSubjectAccessReview`` (``kubectl auth can-i VERB RESOURCE``): may I?
- ``SubjectAccessReview`` (``kubectl auth can-i ... --as``, graders, labrunner's access
  checks on any cluster): may this user, in these groups?
- ``LocalSubjectAccessReview``: the same, asked inside a namespace (what a namespace admin may ask).
- ``SelfSubjectRulesReview`` (``kubectl auth can-i --list``): everything I may do in a namespace.
- ``SelfSubjectReview`` (``kubectl auth whoami``): who am I, as the API server authenticated me.

Each is answered by the authorizer every request goes through
(:mod:`labrunner.sandbox.authorization`), so a review and the request it asks about never
disagree. Validation follows pkg/apis/authorization/validation; the answers' shapes follow
pkg/registry/authorization.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from labrunner.sandbox.authorization import ADMIN, Authorizer, User
from labrunner.sandbox.status import json_response, status
from labrunner.topics.rbac.model import Attributes


def _invalid(kind: str, group: str, name: str, causes: list[tuple[str, str]]) -> web.Response:
    """A 422 naming every invalid field, as the API server aggregates them."""
    qualified = f"{kind}.{group}"
    listed = ", ".join(f"{field}: {detail}" for field, detail in causes)
    message = f'{qualified} "{name}" is invalid: {f"[{listed}]" if len(causes) > 1 else listed}'
    details = {"name": name, "group": group, "kind": kind,
               "causes": [{"reason": "FieldValueInvalid", "message": detail, "field": field} for field, detail in causes]}
    return status(422, "Invalid", message, details)


def _go_value(value: Any) -> str:
    """How field.Invalid prints a value in its message (``"null"`` for nothing)."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


def _attribute_problems(spec: dict[str, Any]) -> list[tuple[str, str]]:
    resource, non_resource = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    if resource is not None and non_resource is not None:
        return [("spec.nonResourceAttributes", f"Invalid value: {_go_value(str(non_resource))}: cannot be specified in combination with resourceAttributes")]
    if resource is None and non_resource is None:
        return [("spec.resourceAttributes", "Invalid value: \"null\": exactly one of nonResourceAttributes or resourceAttributes must be specified")]
    if not isinstance(resource if resource is not None else non_resource, dict):
        return [("spec.resourceAttributes" if resource is not None else "spec.nonResourceAttributes", "Invalid value: must be an object")]
    return []


def attributes_from_spec(spec: dict[str, Any]) -> Attributes:
    """The authorizer attributes a review's ``resourceAttributes`` or ``nonResourceAttributes`` ask about."""
    resource = spec.get("resourceAttributes")
    if isinstance(resource, dict):
        return Attributes(verb=str(resource.get("verb") or ""), api_group=str(resource.get("group") or ""),
                          resource=str(resource.get("resource") or ""), subresource=str(resource.get("subresource") or ""),
                          name=str(resource.get("name") or ""), namespace=str(resource.get("namespace") or ""))
    non_resource = spec.get("nonResourceAttributes") or {}
    return Attributes(verb=str(non_resource.get("verb") or ""), path=str(non_resource.get("path") or ""))


def _extra(raw: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not isinstance(raw, dict):
        return ()
    return tuple((str(key), tuple(str(value) for value in (values or ()))) for key, values in sorted(raw.items()))


def user_info(user: User) -> dict[str, Any]:
    """authentication/v1 UserInfo of a user, empty fields left out as the API server does."""
    info: dict[str, Any] = {"username": user.name}
    if user.uid:
        info["uid"] = user.uid
    if user.groups:
        info["groups"] = list(user.groups)
    if user.extra:
        info["extra"] = {key: list(values) for key, values in user.extra}
    return info


class Reviews:
    def __init__(self, authorizer: Authorizer) -> None:
        self.authorizer = authorizer
        self.answers: dict[tuple[str, str], Callable[[web.Request, dict[str, Any], "str | None"], web.Response]] = {
            ("authorization.k8s.io", "selfsubjectaccessreviews"): self.self_access,
            ("authorization.k8s.io", "subjectaccessreviews"): self.access,
            ("authorization.k8s.io", "localsubjectaccessreviews"): self.local_access,
            ("authorization.k8s.io", "selfsubjectrulesreviews"): self.self_rules,
            ("authentication.k8s.io", "selfsubjectreviews"): self.self_subject,
        }
        """(group, plural) -> the answer to a create of that kind."""

    @staticmethod
    def _user(request: web.Request) -> User:
        return request.get("user", ADMIN)

    def _verdict(self, kind: str, obj: dict[str, Any], spec: dict[str, Any], user: User, namespace: str | None = None) -> web.Response:
        decision = self.authorizer.decide_attributes(user, attributes_from_spec(spec))
        verdict: dict[str, Any] = {"allowed": decision.allowed}
        if decision.reason:
            verdict["reason"] = decision.reason
        metadata: dict[str, Any] = {"creationTimestamp": None, **(obj.get("metadata") or {})}
        if namespace is not None:
            metadata["namespace"] = namespace
        answer = {**obj, "kind": kind, "apiVersion": "authorization.k8s.io/v1", "metadata": metadata, "spec": spec, "status": verdict}
        return json_response(answer, status=201)

    def self_access(self, request: web.Request, obj: dict[str, Any], namespace: str | None) -> web.Response:
        spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
        assert isinstance(spec, dict)
        if problems := _attribute_problems(spec):
            return _invalid("SelfSubjectAccessReview", "authorization.k8s.io", "", problems)
        return self._verdict("SelfSubjectAccessReview", obj, spec, self._user(request))

    def access(self, request: web.Request, obj: dict[str, Any], namespace: str | None) -> web.Response:
        spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
        assert isinstance(spec, dict)
        problems = _attribute_problems(spec)
        if not spec.get("user") and not spec.get("groups"):
            problems.append(("spec.user", 'Invalid value: "": at least one of user or group must be specified'))
        if problems:
            return _invalid("SubjectAccessReview", "authorization.k8s.io", "", problems)
        return self._verdict("SubjectAccessReview", obj, spec, self._subject(spec))

    def local_access(self, request: web.Request, obj: dict[str, Any], namespace: str | None) -> web.Response:
        spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
        assert isinstance(spec, dict)
        problems = _attribute_problems(spec)
        if not spec.get("user") and not spec.get("groups"):
            problems.append(("spec.user", 'Invalid value: "": at least one of user or group must be specified'))
        if spec.get("nonResourceAttributes") is not None:
            problems.append(("spec.nonResourceAttributes", "Invalid value: disallowed on this kind of request"))
        given = (obj.get("metadata") or {}).get("namespace")
        if given and given != namespace:
            return status(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request")
        asked = (spec.get("resourceAttributes") or {}).get("namespace") if isinstance(spec.get("resourceAttributes"), dict) else None
        if not problems and asked != namespace:
            problems.append(("spec.resourceAttributes.namespace", f"Invalid value: {_go_value(asked or '')}: must match metadata.namespace"))
        if problems:
            return _invalid("LocalSubjectAccessReview", "authorization.k8s.io", "", problems)
        return self._verdict("LocalSubjectAccessReview", obj, spec, self._subject(spec), namespace)

    @staticmethod
    def _subject(spec: dict[str, Any]) -> User:
        groups = tuple(str(group) for group in spec.get("groups") or ())
        return User(str(spec.get("user") or ""), groups, str(spec.get("uid") or ""), _extra(spec.get("extra")))

    def self_rules(self, request: web.Request, obj: dict[str, Any], namespace: str | None) -> web.Response:
        """RBAC's RulesFor in the namespace asked (``kubectl auth can-i --list -n dev``)."""
        spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
        assert isinstance(spec, dict)
        asked = str(spec.get("namespace") or "")
        rules, _ = self.authorizer.rules_for(self._user(request), asked)
        resource_rules, non_resource_rules = [], []
        for rule in rules:
            if rule.non_resource_urls and not rule.resources:
                non_resource_rules.append({"verbs": list(rule.verbs), "nonResourceURLs": list(rule.non_resource_urls)})
            else:
                entry: dict[str, Any] = {"verbs": list(rule.verbs)}
                if rule.api_groups:
                    entry["apiGroups"] = list(rule.api_groups)
                if rule.resources:
                    entry["resources"] = list(rule.resources)
                if rule.resource_names:
                    entry["resourceNames"] = list(rule.resource_names)
                resource_rules.append(entry)
        answer = {**obj, "kind": "SelfSubjectRulesReview", "apiVersion": "authorization.k8s.io/v1",
                  "metadata": {"creationTimestamp": None, **(obj.get("metadata") or {})}, "spec": spec,
                  "status": {"resourceRules": resource_rules, "nonResourceRules": non_resource_rules, "incomplete": False}}
        return json_response(answer, status=201)

    def self_subject(self, request: web.Request, obj: dict[str, Any], namespace: str | None) -> web.Response:
        """Who the API server thinks the requester is, after impersonation."""
        answer = {"kind": "SelfSubjectReview", "apiVersion": "authentication.k8s.io/v1",
                  "metadata": {"creationTimestamp": None, **(obj.get("metadata") or {})},
                  "status": {"userInfo": user_info(self._user(request))}}
        return json_response(answer, status=201)

