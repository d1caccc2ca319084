"""What every page of ours shares: security headers, error pages, the CSRF check."""
