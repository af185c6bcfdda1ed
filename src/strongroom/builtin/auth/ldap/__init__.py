"""The "ldap" auth method: logins checked by binding to an LDAP directory, policies from its groups."""
