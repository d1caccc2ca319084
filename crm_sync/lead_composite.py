"""One Composite request that writes a batch of LeadRequests, and what its answer says of each.

The request (allOrNone false, so one bad record fails only its own submission) holds:

* the leads to create: one sObject upsert by external id for a single lead (the external id
  in its URL only), or sObject Collections upserts of up to 200 (the external id in each
  record, as Collections requires), one per assignment header, since `Sforce-Auto-Assign`
  is per request: FALSE when the routing names the owner, TRUE when Salesforce's assignment
  rules choose. Every lead write carries `Sforce-Duplicate-Rule-Header: allowSave=true`, so
  that an org's alerting duplicate rule (the standard lead rule's default action) lets the
  lead through instead of refusing it;
* the follow-up tasks, one Collections create of Tasks only, and the campaign memberships,
  one of CampaignMembers only: one type per request, so never more than Salesforce's ten
  chunks. A follow-up on a lead made in the same request names it by reference
  (`@{leads0[3].id}`).

A reference to a lead that failed makes its whole follow-up subrequest fail (Salesforce does
not run a subrequest that depends on a failed one): the follow-ups of the leads that were made
are then sent again, with their ids, in another round (leads.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from simple_salesforce.format import format_external_id

from crm_sync.config import SalesforceConfig
from crm_sync.errors import CrmError, CrmRejected, CrmUnavailable, error_for
from crm_sync.lead_request import LeadRequest
from crm_sync.mapping import campaign_member_for, lead_from_submission

ALLOW_SAVE = "allowSave=true"  # Sforce-Duplicate-Rule-Header: pass an alerting rule's alert
HALTED = "PROCESSING_HALTED"  # a subrequest not run: it refers to one that failed
GONE = frozenset({"ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY"})  # a deleted record


@dataclass
class Outcome:
    """What the answer means for the requests beyond their own fields: which need another
    round (follow-ups not made yet, a converted lead to look up)."""

    again: list[LeadRequest] = field(default_factory=list)

    def add(self, request: LeadRequest) -> None:
        if request not in self.again:
            self.again.append(request)


@dataclass
class _Part:
    reference: str
    requests: list[LeadRequest]
    single: bool = False  # one sObject upsert, not a Collection


class LeadComposite:
    """Builds the Composite for some requests (`body`, None when there is nothing to write)
    and reads its answer into them (`read`)."""

    def __init__(self, config: SalesforceConfig, requests: Sequence[LeadRequest]) -> None:
        self.config = config
        self.base = f"/services/data/v{config.api_version}"
        self.subrequests: list[dict[str, Any]] = []
        self.lead_parts: list[_Part] = []
        self.followup_parts: list[tuple[str, _Part]] = []  # ("task" | "member", part)
        self._plan(list(requests))

    @property
    def body(self) -> dict[str, Any] | None:
        if not self.subrequests:
            return None
        return {"allOrNone": False, "compositeRequest": self.subrequests}

    # -- the request ------------------------------------------------------------------------

    def _plan(self, requests: list[LeadRequest]) -> None:
        new = [r for r in requests if r.needs_lead]
        references: dict[int, str] = {}
        if len(new) == 1:
            self._single_upsert(new[0])
            references[id(new[0])] = "@{lead0.id}"
        else:
            for owner_set in (True, False):
                group = [r for r in new if bool(r.owner_id) is owner_set]
                if group:
                    name = f"leads{len(self.lead_parts)}"
                    self._collection_upsert(name, group)
                    references.update((id(r), f"@{{{name}[{i}].id}}") for i, r in enumerate(group))
        live = [r for r in requests if r.error is None and (r.who_id or id(r) in references)]
        tasks = [r for r in live if r.wants_task and not r.has_task]
        self._followups("task", tasks, references)
        if self.config.campaign_id:
            self._followups("member", live, references)

    def _headers(self, owner_id: str | None) -> dict[str, str]:
        """With an owner from the routing, Salesforce's assignment rules must not move the
        lead; without one, they choose the owner. An alerting duplicate rule lets it through."""
        return {
            "Sforce-Auto-Assign": "FALSE" if owner_id else "TRUE",
            "Sforce-Duplicate-Rule-Header": ALLOW_SAVE,
        }

    def _lead(self, request: LeadRequest) -> dict[str, Any]:
        return lead_from_submission(
            request.submission,
            request.owner_id,
            lead_source=self.config.lead_source,
            extra_fields=self.config.extra_lead_fields,
        )

    def _single_upsert(self, request: LeadRequest) -> None:
        external = format_external_id(self.config.external_id_field, request.submission.public_id)
        self.subrequests.append(
            {
                "method": "PATCH",
                "url": f"{self.base}/sobjects/Lead/{external}",
                "referenceId": "lead0",
                "body": self._lead(request),
                "httpHeaders": self._headers(request.owner_id),
            }
        )
        self.lead_parts.append(_Part("lead0", [request], single=True))

    def _collection_upsert(self, name: str, group: list[LeadRequest]) -> None:
        field_name = self.config.external_id_field
        records = [
            {
                "attributes": {"type": "Lead"},
                field_name: r.submission.public_id,
                **self._lead(r),
            }
            for r in group
        ]
        self.subrequests.append(
            {
                "method": "PATCH",
                "url": f"{self.base}/composite/sobjects/Lead/{field_name}",
                "referenceId": name,
                "body": {"allOrNone": False, "records": records},
                "httpHeaders": self._headers(group[0].owner_id),
            }
        )
        self.lead_parts.append(_Part(name, group))

    def _followups(
        self, kind: str, requests: list[LeadRequest], references: dict[int, str]
    ) -> None:
        if not requests:
            return
        records = []
        for r in requests:
            who = r.who_id or references[id(r)]
            if kind == "task":
                task = r.task(who, self.config.task_due_working_days)
                records.append({"attributes": {"type": "Task"}, **task})
            else:
                member = campaign_member_for(self.config.campaign_id or "", who)
                records.append({"attributes": {"type": "CampaignMember"}, **member})
        name = f"{kind}s"
        self.subrequests.append(
            {
                "method": "POST",
                "url": f"{self.base}/composite/sobjects",
                "referenceId": name,
                "body": {"allOrNone": False, "records": records},
            }
        )
        self.followup_parts.append((kind, _Part(name, requests)))

    # -- the answer -------------------------------------------------------------------------

    def read(self, answer: dict[str, Any]) -> Outcome:
        """Fill in the requests' lead ids, follow-ups and errors from the Composite's answer."""
        responses = {r["referenceId"]: r for r in answer.get("compositeResponse", [])}
        outcome = Outcome()
        for part in self.lead_parts:
            self._read_leads(part, responses.get(part.reference), outcome)
        for kind, part in self.followup_parts:
            self._read_followups(kind, part, responses.get(part.reference), outcome)
        for part in self.lead_parts:  # an answer that left one out: try it again later
            for request in part.requests:
                if request.needs_lead and request not in outcome.again:
                    request.fail(CrmUnavailable("Salesforce svarede ikke for dette lead"))
        return outcome

    def _read_leads(self, part: _Part, response: Any, outcome: Outcome) -> None:
        status, body = _status_and_body(response)
        if part.single and status == 300:
            _two_leads(part.requests[0], self.config.external_id_field)
            return
        if status >= 400 or not isinstance(body, (list, dict)):
            for request in part.requests:
                lead_error(request, _first_error(body), outcome, self.config)
            return
        results = [body] if part.single else body
        for request, result in zip(part.requests, results, strict=False):
            if part.single or result.get("success"):
                request.lead_id = str(result["id"])
            else:
                lead_error(request, _first_error(result.get("errors")), outcome, self.config)

    def _read_followups(self, kind: str, part: _Part, response: Any, outcome: Outcome) -> None:
        status, body = _status_and_body(response)
        if status >= 400 or not isinstance(body, list) or len(body) != len(part.requests):
            problem = _first_error(body)
            for request in part.requests:
                if request.error is not None:
                    continue
                if _code(problem) == HALTED and (request.lead_id or request.who_id):
                    outcome.add(request)  # its lead was made; another lead's failure stopped it
                elif _code(problem) != HALTED:
                    request.fail(_crm_error(problem))
            return
        for request, result in zip(part.requests, body, strict=True):
            if result.get("success"):
                if kind == "task":
                    request.has_task = True
                continue
            problem = _first_error(result.get("errors"))
            if kind == "member" and _code(problem) == "DUPLICATE_VALUE":
                continue  # already a member of the campaign (a retry, a converted lead)
            if request.contact_id and _code(problem) in GONE:
                # The caller's contact index knew a contact Salesforce has deleted or merged
                # since: the next try goes without it.
                request.contact_gone = True
                message = f"Kontakten {request.contact_id} findes ikke længere i Salesforce"
                request.fail(CrmUnavailable(f"{_code(problem)}: {message}"))
                continue
            request.fail(_crm_error(problem))


def lead_error(
    request: LeadRequest, problem: dict[str, Any], outcome: Outcome, config: SalesforceConfig
) -> None:
    """What a lead that Salesforce would not write means for its request."""
    code = _code(problem)
    if code == "DUPLICATES_DETECTED":
        # allowSave passes an alerting rule: this one blocks. Follow up on the record it names.
        match = _matched_record(problem)
        if match is None:
            request.fail(
                CrmRejected(
                    "DUPLICATES_DETECTED: en duplikatregel i Salesforce blokerer leadet uden at "
                    f"nævne det eksisterende ({problem.get('message', '')})"
                )
            )
        else:
            request.duplicate_of = match
            outcome.add(request)
    elif code == "CANNOT_UPDATE_CONVERTED_LEAD":
        request.retry = True  # the lead exists, converted: look it up and follow up on it
        outcome.add(request)
    elif code == "DUPLICATE_EXTERNAL_ID":
        _two_leads(request, config.external_id_field)
    else:
        request.fail(_crm_error(problem))


def _two_leads(request: LeadRequest, field_name: str) -> None:
    request.fail(
        CrmRejected(
            f"DUPLICATE_EXTERNAL_ID: to leads i Salesforce har samme eksterne id "
            f"({field_name} = {request.submission.public_id}); flet eller slet det ene, og "
            "prøv så jobbet igen (two leads carry external id "
            f"{request.submission.public_id})"
        )
    )


def _status_and_body(response: Any) -> tuple[int, Any]:
    if not isinstance(response, dict):
        return 500, [{"errorCode": "UNKNOWN_EXCEPTION", "message": "intet svar på delforespørgsel"}]
    return int(response.get("httpStatusCode", 500)), response.get("body")


def _first_error(errors: Any) -> dict[str, Any]:
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return errors[0]
    return {"message": str(errors)}


def _code(problem: dict[str, Any]) -> str:
    return str(problem.get("statusCode") or problem.get("errorCode") or "")


def _crm_error(problem: dict[str, Any]) -> CrmError:
    error = error_for(_code(problem), str(problem.get("message", "")))
    fields = problem.get("fields")
    if fields:
        error = type(error)(f"{error} (felter: {', '.join(fields)})")
    return error


def _matched_record(problem: dict[str, Any]) -> str | None:
    """The first record a duplicate rule matched: a REST error calls the result
    `duplicateResut` (sic), a Collections record error `duplicateResult`."""
    result = problem.get("duplicateResult") or problem.get("duplicateResut") or {}
    for match in result.get("matchResults") or []:
        for record in match.get("matchRecords") or []:
            record_id = (record.get("record") or {}).get("Id")
            if record_id:
                return str(record_id)
    return None
