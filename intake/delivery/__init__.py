"""Delivery: the outbox (outbox.py), its worker (worker.py), the channel contract (channel.py,
errors.py) and the channels: e-mail (mail.py), Salesforce (salesforce.py,
salesforce_erasure.py); their commands (cli.py)."""
