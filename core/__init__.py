"""What every app shares and no app owns: row-level security, the null-origin CSRF middleware, the rate
limiter, link tokens, the tenant's clock and query-string parsing. Below ``crm``: it imports no app."""
