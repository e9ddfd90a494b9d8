"""The console: HTML pages with server-drawn SVG charts for customer-success teams, served by every worker."""
