"""Core domain: public bodies, positions, people, organisations, identifiers, roles, audit log, findings."""
