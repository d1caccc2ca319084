"""Salesforce for BL Intake, a library that knows nothing of the outbox: the settings
(config.py), logging in (auth.py), the simple-salesforce client and its errors (client.py,
errors.py), mapping a submission to Lead/Task/CampaignMember (mapping.py), sending them
(leads.py, lead_request.py, lead_composite.py), contacts and what changed in them
(contacts.py), finding and deleting leads (erasure.py), `crm check` (check.py), and a local
Salesforce API emulator (the emulator/ package, which needs the ``emulator`` extra to run).
README.md has the design, and what the emulator follows."""
