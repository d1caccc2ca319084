"""What the tests share: forms and counts (helpers), settings, staff sign-in, the SMTP sink,
the browser, worker processes, paths."""
