"""Salesforce for BL Intake: mapping a submission to Lead/Task/CampaignMember (mapping.py),
logging in (auth.py), the simple-salesforce client and its errors (client.py, errors.py), the
worker's Salesforce channel (channel.py), and a local Salesforce API emulator (the emulator/
package, which needs the ``emulator`` extra to run)."""
