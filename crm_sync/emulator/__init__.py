"""A local Salesforce emulator: the slice of the REST API that BL Intake uses, over HTTPS.

``SalesforceEmulator`` is a small HTTPS server on loopback. Its certificate comes from a
throw-away CA made with ``trustme`` (the ``emulator`` extra); clients trust ``ca_pem_path``
(for requests: ``session.verify = str(emulator.ca_pem_path)``). Records live in memory. It
implements:

* ``POST /services/oauth2/token``: the client-credentials (Basic auth or form), username-password
  (password + security token) and JWT-bearer grants (RS256, the signature checked against the
  connected app's certificate ``jwt_public_key_pem``, ``aud`` the org's: login.salesforce.com,
  or test.salesforce.com with ``sandbox``), answering like Salesforce (``access_token``,
  ``instance_url``, ``id``, …; 400 ``invalid_grant`` / ``invalid_client`` /
  ``invalid_client_id`` on failure).
* Every ``/services/data/vNN.N/…`` call needs ``Authorization: Bearer <token>`` (401
  ``INVALID_SESSION_ID`` otherwise) and is answered with ``Sforce-Limit-Info: api-usage=N/15000``
  (N: the API requests of the last 24 hours; the daily limit is ``daily_api_limit`` /
  ``--daily-api-limit``); once N reaches it, 403 ``REQUEST_LIMIT_EXCEEDED`` until requests
  leave the 24-hour window (``advance_clock``).
* ``sobjects/`` (list), ``sobjects/{T}/describe``, create (``POST sobjects/{T}/``), get / update
  / delete by id, get / upsert / delete by external id (201 created, 200 updated with
  ``created``; 204 and no ``created`` below v46; 300 for several matches; ``?updateOnly=true``).
* ``composite`` (≤25 subrequests, ``@{ref.field}`` and ``@{ref[0].id}`` references,
  ``allOrNone`` roll-back with ``PROCESSING_HALTED``; counted as one API request) and sObject
  Collections (``composite/sobjects`` create / update / delete,
  ``composite/sobjects/{T}/{ExtField}`` upsert; ≤200 records, at most 10 chunks of one type
  (``EXCEEDED_MAX_TYPES_LIMIT``), ``allOrNone`` with ``ALL_OR_NONE_OPERATION_ROLLED_BACK``).
* ``query/`` and ``queryAll/`` (deleted records too) with the SOQL subset of
  ``crm_sync.emulator.soql``, parent-to-child subqueries (``(SELECT … FROM Tasks)`` on Lead)
  and paging as Salesforce does it (2,000 records a batch, children counted,
  ``nextRecordsUrl`` answered by ``query/<locator>``; ``Sforce-Query-Options: batchSize``);
  ``limits/``.
* Validation as Salesforce answers it: ``INVALID_FIELD``, ``STRING_TOO_LONG`` (lengths in
  characters), ``REQUIRED_FIELD_MISSING``, ``INVALID_EMAIL_ADDRESS``, ``MALFORMED_ID``,
  ``INVALID_CROSS_REFERENCE_KEY``, ``INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST``,
  ``INVALID_FIELD_FOR_INSERT_UPDATE``, ``DUPLICATE_VALUE`` (also one CampaignMember per lead or
  contact and campaign), ``CANNOT_UPDATE_CONVERTED_LEAD``, ``JSON_PARSER_ERROR``; error bodies
  are ``[{"message", "errorCode", "fields"}]``. Deleting a lead or contact deletes its tasks
  and campaign memberships with it (into the recycle bin that ``queryAll`` sees).
* The org's own set-up (``emulator.org``, org.py): the Standard Lead Duplicate Rule (off,
  ``alert`` or ``block``; ``DUPLICATES_DETECTED`` unless ``Sforce-Duplicate-Rule-Header:
  allowSave=true`` passes an alert; duplicates.py), validation rules
  (``FIELD_CUSTOM_VALIDATION_EXCEPTION``), read-only maintenance (every write answers
  ``INSERT_UPDATE_DELETE_NOT_ALLOWED_DURING_MAINTENANCE``). ``convert_lead`` converts as a sales
  user does: Account and Contact made, tasks and campaign memberships moved to the contact.
* Objects: Lead (standard fields + the external-id field), Contact, Account, Task, Campaign,
  CampaignMember; ``add_field`` adds custom fields (BL's configured ones).
* Fault injection for the next API requests: ``expire_sessions``, ``fail_next`` (503
  ``SERVER_UNAVAILABLE``, 500 ``UNKNOWN_EXCEPTION``, …), ``limit_exceeded`` (403
  ``REQUEST_LIMIT_EXCEEDED``), ``too_many_requests`` (a plain-text 429 with ``Retry-After``),
  ``delay_next`` (does the work, then answers late).
* Inspection without auth: ``GET /_emulator/records`` and ``GET /_emulator/requests`` (JSON);
  control for other processes: ``POST /_emulator/reset``, ``POST /_emulator/faults``,
  ``POST /_emulator/leads/{id}/convert``, ``POST /_emulator/records/{Type}/{id}`` (a sales
  user's edit, ``edit_record``: a lead's or a task's Status), ``GET``/``POST /_emulator/org``,
  ``POST /_emulator/validation-rules``, ``POST /_emulator/clock``.

Run it alone with ``python -m crm_sync.emulator [--port 8443] [--state-dir DIR]
[--duplicate-rule alert] [--campaign NAME]``.

The modules, each with one job:

* server.py: ``SalesforceEmulator``, the HTTPS server (start, stop, WSGI entry, which part
  answers which path) and the methods tests seed, inspect and inject faults with;
* tls.py: the throw-away CA (trustme) and the server certificate;
* oauth.py: the token endpoint and the sessions it issues;
* front.py: the WSGI entry point (which part answers which path);
* api.py: ``/services/data/``: request log, token check, the daily allowance, faults, usage
  header, routing;
* sobjects.py: ``sobjects/`` (describe, by id, by external id);
* query.py and soql.py: ``query/`` over the stored records, and the SOQL subset's parser;
* composite.py: Composite; sobject_collections.py: sObject Collections;
* records.py: the in-memory records and their writes; validation.py: Salesforce's checks;
* org.py: the org's set-up (duplicate rule, validation rules, maintenance, JWT audience);
  duplicates.py: the Standard Lead Duplicate Rule;
* schema.py: fields, objects and ``describe``; ids.py: Salesforce ids;
* calls.py: a routed call and its reply; errors.py: ``ApiError`` and error bodies;
* faults.py: queued errors and delays; control.py: the ``/_emulator/`` pages;
* __main__.py: the command line.

It imports nothing of the app (``intake``, ``forms``) nor of the rest of ``crm_sync``, so the
benchmarks and other processes can run it on its own.
"""

from crm_sync.emulator.api import RequestLog
from crm_sync.emulator.ids import DEFAULT_OWNER_ID, ORG_ID
from crm_sync.emulator.server import SalesforceEmulator
from crm_sync.emulator.tls import TrustmeMissing

__all__ = ["DEFAULT_OWNER_ID", "ORG_ID", "RequestLog", "SalesforceEmulator", "TrustmeMissing"]
