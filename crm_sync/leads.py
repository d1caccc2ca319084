"""Sending submissions to Salesforce: each becomes a Lead (made once, by its external id) with a
follow-up Task and a CampaignMember, or, when a Contact has the same e-mail, a Task on it.

Salesforce as a real org answers, and what we do about it:

* Created, never updated. Every Lead field is sent when the lead is made, and never again: a
  retry first looks the lead up by its external id (the submission's public id) and, when it
  exists, leaves it as it is, so an owner, a Company or a Description a consultant changed
  stays changed. The owner and `Sforce-Auto-Assign` go with the create only. The submission
  does not change after it is stored, so there is nothing newer to send.
* An alerting duplicate rule (the standard lead rule's default) is passed with
  `Sforce-Duplicate-Rule-Header: allowSave=true`: the person who orders twice, or orders and
  then asks for help, gets a second lead, as each request is a follow-up of its own. A rule
  that blocks names the record it matched: the follow-up goes on that record instead.
* A converted lead counts as done: its follow-up task goes on the contact it was converted
  into if the task is not there yet (conversion moves a lead's tasks and memberships to it).
* Records of one type per Collections request, so never more than Salesforce's ten chunks.
* A campaign membership that exists already (DUPLICATE_VALUE) counts as made.

API requests (each counts against the org's daily allowance):

* a batch's first try, one submission or 200: one Composite request;
* a retry: a look-up of the leads by external id first (one query per 200), and of their
  tasks when any lead was found (one more), then the Composite for what is missing;
* a converted lead or a blocking duplicate rule met on the way: one more round (look-up and
  Composite) for those requests.

Contact matching is the caller's (BL Intake keeps an index of Salesforce's contacts, refreshed
from what changed): a LeadRequest arrives with its `contact_id` set or not.
"""

from __future__ import annotations

from collections.abc import Sequence

from simple_salesforce.format import format_soql

from crm_sync.client import SalesforceClient
from crm_sync.config import SalesforceConfig
from crm_sync.erasure import find_leads
from crm_sync.errors import CrmError, CrmRejected, CrmUnavailable
from crm_sync.lead_composite import LeadComposite
from crm_sync.lead_request import LeadRequest

__all__ = ["LeadRequest", "LeadSender"]

IDS_PER_QUERY = 200  # 200 ids of 18 characters keep a query's URL well under 16,000


class LeadSender:
    """Sends LeadRequests with one client; fills in each one's records, or its error."""

    def __init__(self, config: SalesforceConfig, client: SalesforceClient) -> None:
        self.config = config
        self.client = client

    def send(self, requests: Sequence[LeadRequest]) -> None:
        """Send them together. A request as a whole that fails (Salesforce unreachable, its
        allowance spent) fails every one still open; a record Salesforce rejects fails only
        its own."""
        open_requests = [r for r in requests if r.error is None]
        for _ in range(2):
            if not open_requests:
                return
            try:
                self._look_up([r for r in open_requests if r.retry])
                composite = LeadComposite(self.config, open_requests)
                body = composite.body
                if body is None:
                    return
                outcome = composite.read(self.client.call("POST", "composite", json=body))
            except CrmError as error:
                for request in open_requests:
                    request.fail(error)
                return
            open_requests = [r for r in outcome.again if r.error is None]
            for request in open_requests:
                # Looked up in round 2: a converted lead, a duplicate's record, follow-ups
                # stopped by another lead's failure. The look-up finds what round 1 made.
                request.retry = request.retry or request.lead_id is None
        for request in open_requests:  # still open after two rounds: try again later
            request.fail(CrmUnavailable("Salesforce-opfølgningen blev ikke færdig; prøves igen"))

    # -- look-ups ------------------------------------------------------------------------

    def _look_up(self, requests: Sequence[LeadRequest]) -> None:
        """What exists already of requests tried before: their lead (converted or not) and
        their follow-up task."""
        by_key = {
            r.submission.public_id.casefold(): r
            for r in requests
            if r.contact_id is None and r.duplicate_of is None and r.lead_id is None
        }
        field_name = self.config.external_id_field
        found: dict[str, list[dict[str, object]]] = {}
        for lead in find_leads(self.client, field_name, sorted(by_key)):
            found.setdefault(str(lead[field_name]).casefold(), []).append(lead)
        for key, leads in found.items():
            request = by_key.get(key)
            if request is None:
                continue
            if len(leads) > 1:
                request.fail(
                    CrmRejected(
                        f"DUPLICATE_EXTERNAL_ID: to leads i Salesforce har samme eksterne id "
                        f"({field_name} = {request.submission.public_id}); flet eller slet det "
                        "ene, og prøv så jobbet igen (two leads carry external id "
                        f"{request.submission.public_id})"
                    )
                )
                continue
            (lead,) = leads
            request.lead_id = str(lead["Id"])
            if lead.get("IsConverted") and lead.get("ConvertedContactId"):
                request.converted_to = str(lead["ConvertedContactId"])
        self._find_tasks([r for r in requests if r.error is None and r.who_id])

    def _find_tasks(self, requests: Sequence[LeadRequest]) -> None:
        """Mark the requests whose follow-up task exists (found by its subject on the record
        it hangs on: a lead's tasks move to its contact when it is converted)."""
        by_who: dict[str, list[LeadRequest]] = {}
        for request in requests:
            if request.wants_task and not request.has_task and request.who_id:
                by_who.setdefault(request.who_id, []).append(request)
        whos = sorted(by_who)
        for start in range(0, len(whos), IDS_PER_QUERY):
            soql = format_soql(
                "SELECT Id, WhoId, Subject FROM Task WHERE WhoId IN {}",
                whos[start : start + IDS_PER_QUERY],
            )
            for task in self.client.query(soql):
                for request in by_who.get(str(task.get("WhoId")), []):
                    if task.get("Subject") == request.subject:
                        request.has_task = True
