"""Pay links: payment requests by email or SMS, Email Pay links on invoices, and the payer's public pages."""
