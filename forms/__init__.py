"""The WTForms form classes and Danish validators.

The public forms: what both share (contact.py), the pamphlet order (pamphlet_order.py), start-up
help (startup_help.py). The back office: sign-in (sign_in.py), the order actions
(order_actions.py), the catalogue (pamphlet_edit.py). Shared: validators.py, the input filters
(filters.py), where posted fields come from (formdata.py), and reading a validated form's
fields with their types (validated.py).
"""
